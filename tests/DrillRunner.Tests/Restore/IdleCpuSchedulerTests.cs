using BackupDr.DrillRunner.Restore;
using BackupDr.Repository.Postgres;
using BackupDr.TestSupport;

namespace BackupDr.DrillRunner.Tests.Restore;

public sealed class IdleCpuSchedulerTests
{
    private const string SchedIdle = "5";

    [Fact]
    public async Task RunAsync_WorkAndItsContinuations_RunOnIdleThreadsUntilPromoted()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var niceBefore = ProcFiles.SessionNice();
        var scheduler = new IdleCpuScheduler(2);
        var sessionNiceWhileIdle = ProcFiles.SessionNice();
        var sessionLowered = scheduler.SessionLowered;
        var promote = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var promoted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var running = scheduler.RunAsync(async () =>
        {
            var threads = new List<(string? Name, string Policy)> { Current() };
            await Task.Yield();
            threads.Add(Current());
            promote.SetResult();
            await promoted.Task;
            await Task.Yield();
            threads.Add(Current());
            return threads;
        }, cancellationToken);
        await promote.Task.WaitAsync(cancellationToken);
        await scheduler.PromoteAsync();
        promoted.SetResult();
        var seen = await running.WaitAsync(cancellationToken);

        seen[0].ShouldBe(("backupdr idle-cpu", SchedIdle));
        seen[1].ShouldBe(("backupdr idle-cpu", SchedIdle));
        seen[2].Name.ShouldNotBe("backupdr idle-cpu");
        seen[2].Policy.ShouldBe("0");
        scheduler.IdleThreads.ShouldBeTrue();
        SessionCpuWeight.Lowered.ShouldBeFalse();
        ProcFiles.SessionNice().ShouldBe(niceBefore);
        if (sessionLowered)
        {
            sessionNiceWhileIdle.ShouldBe("19");
        }
    }

    private static (string? Name, string Policy) Current() =>
        (Thread.CurrentThread.Name, ProcFiles.StatFields(File.ReadAllText("/proc/thread-self/stat"))[38]);
}
