using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.DrillRunner.Restore;

/// <summary>
/// Background CPU priority (Linux nice 19) for work that runs beside pg_restore: the filestore restore's threads and a
/// local sandbox's probe sessions. pg_restore and its server sessions keep the cores when they need them; the side work
/// takes what they leave. Nice is per thread on Linux, so only the threads made for that work are lowered, never the
/// whole process (a worker's backups beside a drill keep their priority). Raising a nice value needs no privilege
/// for one's own processes; where it is refused or not Linux, the work simply runs at normal priority.
/// </summary>
internal static partial class CpuPriority
{
    public const int Background = 19;

    private const int PriorityOfProcess = 0;

    /// <summary>Lowers the calling thread; false when the platform or the kernel refused.</summary>
    public static bool TryLowerCurrentThread() => OperatingSystem.IsLinux() && SetPriority(PriorityOfProcess, GetThreadId(), Background) == 0;

    /// <summary>Lowers another process of ours or of our user (e.g. a sandbox server session); false when refused.</summary>
    public static bool TryLowerProcess(int pid) => OperatingSystem.IsLinux() && SetPriority(PriorityOfProcess, pid, Background) == 0;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}

/// <summary>
/// A task scheduler with threads of its own at background priority (<see cref="CpuPriority"/>). Work started on it, and
/// the continuations of its awaits, run on those threads; it never runs work inline on another thread.
/// </summary>
internal sealed class BackgroundScheduler : TaskScheduler, IDisposable
{
    private readonly System.Collections.Concurrent.BlockingCollection<Task> _queue = [];
    private readonly Thread[] _threads;

    public BackgroundScheduler(int threads, string name)
    {
        _threads = new Thread[Math.Max(1, threads)];
        for (var i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = name };
            _threads[i].Start();
        }
    }

    public override int MaximumConcurrencyLevel => _threads.Length;

    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var thread in _threads)
        {
            thread.Join();
        }

        _queue.Dispose();
    }

    protected override void QueueTask(Task task) => _queue.Add(task);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

    private void Run()
    {
        CpuPriority.TryLowerCurrentThread();
        foreach (var task in _queue.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }
    }
}

/// <summary>
/// While a local sandbox's database is still being restored, keeps its other server sessions (the probes of table
/// data, which start once every table's rows are in, beside pg_restore's index builds) at background priority
/// (<see cref="CpuPriority"/>), so pg_restore's own sessions keep the cores. Polls the sandbox's sessions until cancelled.
/// </summary>
internal static partial class SideSessions
{
    private const string Sql = """
        SELECT pid FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND coalesce(application_name, '') <> 'pg_restore'
        """;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; a failure is logged, never thrown (the drill goes on at normal priority).</summary>
    public static async Task KeepInBackgroundAsync(string connectionString, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            var lowered = new HashSet<int>();
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200), time);
            do
            {
                await using var command = new NpgsqlCommand(Sql, connection);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var pid = reader.GetInt32(0);
                    if (lowered.Add(pid) && !CpuPriority.TryLowerProcess(pid))
                    {
                        LogRefused(logger, pid);
                        return;
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The restore is done: its sessions no longer need the cores to themselves.
        }
        catch (NpgsqlException e)
        {
            LogFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sandbox session {Pid} could not be set to background CPU priority (not permitted); probes run beside pg_restore at normal priority")]
    private static partial void LogRefused(ILogger logger, int pid);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not watch the sandbox's sessions to keep probes at background priority; they run beside pg_restore at normal priority")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
