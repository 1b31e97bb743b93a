using BackupDr.BackupWorker.Backups;
using BackupDr.BackupWorker.Hosting;
using BackupDr.BackupWorker.Metrics;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Scheduling;

/// <summary>A scheduled backup: the same <see cref="DatabaseBackupService"/> as <c>backupdr backup</c>, plus metrics.</summary>
internal sealed partial class ScheduledBackupService(
    RepositoryAccess repository, DatabaseBackupService backups, WorkerMetrics metrics, TimeProvider time, ILogger<ScheduledBackupService> logger)
{
    public async Task RunAsync(TargetOptions target, JobFiring firing, CancellationToken cancellationToken)
    {
        var open = await repository.OpenAsync(cancellationToken);
        if (firing.Recovering)
        {
            // A replica that died right after committing leaves its firing to be recovered: the backup of that slot
            // exists already, and a second one would only double the load on the source.
            var latest = await LatestBackup.FindAsync(open.Store, target.Name, cancellationToken);
            if (latest is not null && latest.StartedAt >= firing.ScheduledFireTime)
            {
                LogAlreadyDone(logger, target.Name, latest.BackupId, firing.ScheduledFireTime);
                return;
            }
        }

        var outcome = await backups.BackupAsync(open, target, progress: null, cancellationToken);
        metrics.BackupCommitted(outcome.Manifest);
        await BackupAudit.RecordAsync(open, outcome.Manifest, time, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Recovered backup of {Target} for slot {ScheduledFireTime:O} was already committed as {BackupId}; not repeated")]
    private static partial void LogAlreadyDone(ILogger logger, string target, string backupId, DateTimeOffset scheduledFireTime);
}
