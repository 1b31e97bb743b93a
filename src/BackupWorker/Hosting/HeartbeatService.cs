using BackupDr.BackupWorker.Metrics;
using BackupDr.BackupWorker.Scheduling;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Heartbeats;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;

namespace BackupDr.BackupWorker.Hosting;

/// <summary>
/// Every <c>Scheduler:HeartbeatInterval</c>: writes this replica's heartbeat to the repository, refreshes readiness,
/// and counts the overdue triggers for <c>backupdr_jobs_overdue</c>. A failed write is logged and reported by
/// <c>/readyz</c>; the loop goes on, so the heartbeat comes back with the repository.
/// </summary>
internal sealed partial class HeartbeatService(
    ISchedulerFactory factory,
    RepositoryAccess repository,
    WorkerIdentity identity,
    WorkerReadiness readiness,
    WorkerMetrics metrics,
    BackupDrOptions options,
    TimeProvider time,
    ILogger<HeartbeatService> logger) : BackgroundService
{
    private static readonly string Version = Backups.DatabaseBackupService.ProductVersion;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Scheduler.HeartbeatInterval, time);
        do
        {
            await BeatAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task BeatAsync(CancellationToken cancellationToken)
    {
        var scheduler = await factory.GetScheduler(cancellationToken);
        var state = scheduler.Status.ToString();
        metrics.SchedulerStarted(scheduler.Status == SchedulerStatus.Running);
        if (scheduler.Status == SchedulerStatus.Running)
        {
            metrics.Overdue(await CountOverdueAsync(scheduler, cancellationToken));
        }

        var now = time.GetUtcNow();
        var heartbeat = new Heartbeat(identity.InstanceId, identity.Host, Version, now, identity.StartedAt, options.Scheduler.HeartbeatInterval,
            state, options.Scheduler.Clustered, options.Targets.Count, metrics.JobsRunning);
        try
        {
            await HeartbeatStore.WriteAsync(repository.Store, heartbeat, cancellationToken);
            readiness.RepositoryWritten(now);
            metrics.HeartbeatWritten(now);
        }
        catch (StorageException e)
        {
            readiness.RepositoryFailed(e.Message);
            LogHeartbeatFailed(logger, repository.Store.Location, e.Message);
        }
    }

    private async Task<IReadOnlyDictionary<WorkerJobKind, int>> CountOverdueAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var overdue = new Dictionary<WorkerJobKind, int>();
        foreach (var key in await scheduler.GetTriggerKeys(GroupMatcher<TriggerKey>.GroupEquals(WorkerJobs.Group), cancellationToken))
        {
            var trigger = await scheduler.GetTrigger(key, cancellationToken);
            if (trigger?.NextFireTimeUtc is { } next && next < now - options.Scheduler.MisfireThreshold)
            {
                var kind = Enum.GetValues<WorkerJobKind>().FirstOrDefault(k => trigger.JobKey.Name.StartsWith(WorkerJobs.Name(k) + ".", StringComparison.Ordinal));
                overdue[kind] = overdue.GetValueOrDefault(kind) + 1;
            }
        }

        return overdue;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Heartbeat could not be written to {Repository}: {Error}")]
    private static partial void LogHeartbeatFailed(ILogger logger, string repository, string error);
}
