using System.Runtime.InteropServices;
using BackupDr.Repository.Postgres;

namespace BackupDr.DrillRunner.Restore;

/// <summary>
/// Runs async work on threads of Linux's <c>SCHED_IDLE</c> policy, which get a core only when nothing else of the
/// same scheduling group wants it: a drill restores its filestore this way while pg_restore runs, on the cores
/// pg_restore leaves idle, without taking them from it. Every continuation of the work comes back here (no
/// <c>ConfigureAwait(false)</c> in the code it runs). <see cref="Promote"/> sends what is queued from then on to the
/// thread pool, at normal priority: the threads cannot raise their own priority again, and work kept idle while
/// other work fills the machine would never end.
/// </summary>
/// <remarks>
/// A thread's policy counts only within its CPU scheduling group. In a container or a systemd service the sandbox's
/// server and this process share one, and the idle policy is enough. In the root CPU cgroup, Linux groups by session
/// (autogroup) and every PostgreSQL backend is a session of its own: there the session of this process is lowered
/// too (<see cref="SessionCpuWeight"/>) until <see cref="Promote"/>, and pg_restore runs in a session of its own.
/// </remarks>
internal sealed class IdleCpuScheduler : TaskScheduler
{
    private const int SchedIdle = 5;

    [ThreadStatic]
    private static IdleCpuScheduler? _threadOwner;

    private readonly object _gate = new();
    private readonly Queue<Task> _queue = new();
    private bool _promoted;
    private bool _holdsSession;

    /// <param name="threads">Threads that take the idle time (one per core makes every idle core usable).</param>
    public IdleCpuScheduler(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var lowered = 0;
        using var started = new CountdownEvent(threads);
        for (var i = 0; i < threads; i++)
        {
            new Thread(() =>
            {
                _threadOwner = this;
                if (Lower())
                {
                    Interlocked.Increment(ref lowered);
                }

                started.Signal();
                while (Next() is { } task)
                {
                    TryExecuteTask(task);
                }
            })
            {
                IsBackground = true,
                Name = "backupdr idle-cpu",
            }.Start();
        }

        started.Wait();
        IdleThreads = lowered == threads;
        SessionLowered = SessionCpuWeight.Lower();
        _holdsSession = true;
    }

    /// <summary>False where the threads could not take the idle policy (not Linux, or refused): they run at normal priority.</summary>
    public bool IdleThreads { get; }

    /// <summary>Whether this process's session was lowered for the work (see <see cref="SessionCpuWeight"/>).</summary>
    public bool SessionLowered { get; }

    /// <summary>Runs <paramref name="work"/> (and every continuation of it) on this scheduler.</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    /// <summary>
    /// From now on, work queued here (and what waits in the queue) runs on the thread pool at normal priority; the idle
    /// threads end once their current task has run; the session's CPU weight is set back (see <see cref="PromoteAsync"/>).
    /// </summary>
    public void Promote()
    {
        Task[] queued;
        bool release;
        lock (_gate)
        {
            _promoted = true;
            queued = [.. _queue];
            _queue.Clear();
            Monitor.PulseAll(_gate);
            release = _holdsSession;
            _holdsSession = false;
        }

        foreach (var task in queued)
        {
            ToPool(task);
        }

        if (release)
        {
            SessionCpuWeight.Release();
        }
    }

    /// <summary>
    /// <see cref="Promote"/>, and makes sure the session's CPU weight is back (<see cref="SessionCpuWeight.RestoreAsync"/>):
    /// call it when the work is done, whatever happened.
    /// </summary>
    /// <exception cref="InvalidOperationException">The session's weight could not be set back.</exception>
    public async Task PromoteAsync()
    {
        Promote();
        await SessionCpuWeight.RestoreAsync();
    }

    protected override void QueueTask(Task task)
    {
        lock (_gate)
        {
            if (!_promoted)
            {
                _queue.Enqueue(task);
                Monitor.Pulse(_gate);
                return;
            }
        }

        ToPool(task);
    }

    private void ToPool(Task task) =>
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Scheduler.TryExecuteTask(state.Task), (Scheduler: this, Task: task), preferLocal: false);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        (Volatile.Read(ref _promoted) || _threadOwner == this) && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (_gate)
        {
            return _queue.ToArray();
        }
    }

    /// <summary>The next task for an idle thread, or null once promoted and drained: the thread ends.</summary>
    private Task? Next()
    {
        lock (_gate)
        {
            while (_queue.Count == 0)
            {
                if (_promoted)
                {
                    return null;
                }

                Monitor.Wait(_gate);
            }

            return _queue.Dequeue();
        }
    }

    private static bool Lower()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var parameter = 0;
        return NativeMethods.SchedSetScheduler(0, SchedIdle, ref parameter) == 0;
    }

    // DllImport rather than LibraryImport: the generated stub needs AllowUnsafeBlocks; sched_setscheduler(2) takes a
    // pointer to a struct of one int, passed by reference. Pid 0 is the calling thread.
    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int SchedSetScheduler(int pid, int policy, ref int parameter);
    }
}
