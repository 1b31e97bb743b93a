using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Hosting;
using BackupDr.Repository.Configuration;
using BackupDr.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupDr.BackupWorker.Tests.Scheduling;

/// <summary>
/// The host in-process with a test double bound to the drill seam (as issue [4]'s service will be): the drill
/// trigger is scheduled and fires the bound service, and its outcome reaches /metrics.
/// </summary>
public sealed class WorkerHostTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("backupdr-host-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Build_DrillServiceBound_SchedulesDrillsAndReportsTheirOutcome()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var port = TestEnvironment.FreeTcpPort();
        var options = ScheduleOptions.Load(
            ("Repository:Path", Path.Combine(_folder, "repository")),
            ("Http:Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Targets:0:BackupSchedule", "0 0 1 1 1 ? 2099"),
            ("Targets:0:DrillSchedule", "* * * * * ?"),
            ("Targets:0:ConnectionString", "Host=127.0.0.1;Port=1;Database=acme;Username=backup"));
        var drills = new SignallingDrillService();

        await using var app = WorkerHost.Build(options, NullLoggerFactory.Instance, TimeProvider.System,
            services => services.AddSingleton<IScheduledDrillService>(drills));
        await app.StartAsync(cancellationToken);
        try
        {
            var target = await drills.Called.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            target.ShouldBe("acme-prod");

            using var http = new HttpClient();
            var metrics = "";
            for (var i = 0; i < 100 && !metrics.Contains("outcome=\"Passed\"} 1", StringComparison.Ordinal); i++)
            {
                metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), cancellationToken);
                await Task.Delay(50, cancellationToken);
            }

            metrics.ShouldContain("backupdr_drill_last_outcome{target=\"acme-prod\",tenant=\"acme\",environment=\"production\",tier=\"gold\",outcome=\"Passed\"} 1");
            metrics.ShouldContain("backupdr_achieved_rto_seconds{target=\"acme-prod\",tenant=\"acme\",environment=\"production\",tier=\"gold\"} 600");
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>A test double of the drill seam: a passed drill, and a signal when it was asked for one.</summary>
    private sealed class SignallingDrillService : IScheduledDrillService
    {
        public TaskCompletionSource<string> Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<ScheduledDrillResult> RunAsync(TargetOptions target, DrillBackupChoice backup, CancellationToken cancellationToken)
        {
            Called.TrySetResult(target.Name);
            var now = TimeProvider.System.GetUtcNow();
            return Task.FromResult(new ScheduledDrillResult("drill-1", "backup-1", ScheduledDrillOutcome.Passed, now, now.AddMinutes(10),
                TimeSpan.FromMinutes(10), TimeSpan.FromHours(1)));
        }
    }
}
