using BackupDr.Repository.Configuration;

namespace BackupDr.BackupWorker.Hosting;

/// <summary>
/// What <c>/readyz</c> answers from: the repository counts as reachable while heartbeats reach it (the heartbeat
/// writes an object every interval, which is the very thing backups need), unreachable after a failed write or when
/// no write succeeded for two intervals. The configuration is valid by construction: an invalid one stops the process
/// before the host starts.
/// </summary>
internal sealed class WorkerReadiness(BackupDrOptions options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private DateTimeOffset? _lastWrite;
    private string? _lastError = "no heartbeat written yet";

    public void RepositoryWritten(DateTimeOffset at)
    {
        lock (_lock)
        {
            _lastWrite = at;
            _lastError = null;
        }
    }

    public void RepositoryFailed(string error)
    {
        lock (_lock)
        {
            _lastError = error;
        }
    }

    /// <summary>Null when reachable; otherwise why not.</summary>
    public string? RepositoryProblem()
    {
        lock (_lock)
        {
            if (_lastError is not null)
            {
                return _lastError;
            }

            var silent = time.GetUtcNow() - _lastWrite!.Value;
            return silent > options.Scheduler.HeartbeatInterval * 2
                ? $"no heartbeat written for {silent.TotalSeconds:F0} s"
                : null;
        }
    }
}
