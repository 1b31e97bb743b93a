using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Hosting;
using BackupDr.BackupWorker.Metrics;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;

namespace BackupDr.BackupWorker.Scheduling;

/// <summary>
/// Puts the configured schedule into Quartz before the scheduler starts (it is registered before Quartz's hosted
/// service). Idempotent and safe with several replicas on one clustered store: a job is stored or replaced, a
/// trigger is added only when missing (<see cref="TriggerConflict.Keep"/>: declaring the same triggers from every
/// replica through AddQuartz fired them twice) and replaced only when the configuration changed it; jobs of targets
/// no longer configured are removed. Also seeds the metrics from the newest manifests and, with the in-memory store
/// (which forgets missed slots across restarts), schedules one catch-up backup per target that missed a slot.
/// </summary>
internal sealed partial class ScheduleRegistrar(
    ISchedulerFactory factory,
    BackupDrOptions options,
    RepositoryAccess repository,
    WorkerMetrics metrics,
    TimeProvider time,
    ILogger<ScheduleRegistrar> logger,
    IScheduledDrillService? drills = null) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var scheduler = await factory.GetScheduler(cancellationToken);
        if (drills is null)
        {
            LogNoDrillService(logger);
        }

        foreach (var (name, calendar) in WorkerSchedule.Calendars(options))
        {
            await scheduler.AddCalendar(name, calendar, AddCalendarOptions.ReplacingAndUpdatingTriggers, cancellationToken);
        }

        var planned = WorkerSchedule.Plan(options, drills is not null, time);
        foreach (var entry in planned)
        {
            await scheduler.AddJob(Job(entry.Kind, entry.Target), AddJobOptions.Replacing, cancellationToken);
            var existing = await scheduler.GetTrigger(entry.Trigger.Key, cancellationToken);
            if (existing is null)
            {
                await scheduler.ScheduleTrigger(entry.Trigger, TriggerConflict.Keep, cancellationToken);
            }
            else if (!SameSchedule(existing, entry.Trigger))
            {
                LogRescheduled(logger, entry.Trigger.Key.Name);
                await scheduler.RescheduleJob(entry.Trigger.Key, entry.Trigger, cancellationToken);
            }
        }

        var wanted = planned.Select(p => WorkerJobs.Job(p.Kind, p.Target)).ToHashSet();
        foreach (var stale in (await scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(WorkerJobs.Group), cancellationToken)).Where(k => !wanted.Contains(k)))
        {
            LogRemoved(logger, stale.Name);
            await scheduler.DeleteJob(stale, cancellationToken);
        }

        await SeedAndCatchUpAsync(scheduler, cancellationToken);
        LogRegistered(logger, options.Targets.Count, planned.Count, options.Scheduler.Clustered);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task SeedAndCatchUpAsync(IScheduler scheduler, CancellationToken cancellationToken)
    {
        var zone = WorkerSchedule.Zone(options.Scheduler);
        foreach (var target in options.Targets)
        {
            BackupManifest? latest;
            try
            {
                latest = await LatestBackup.FindAsync(repository.Store, target.Name, cancellationToken);
            }
            catch (StorageException e)
            {
                // Readiness reports the repository; the backup jobs will fail loudly on their own if it stays away.
                LogSeedFailed(logger, target.Name, e.Message);
                continue;
            }

            if (latest is not null)
            {
                metrics.BackupCommitted(latest);
            }

            // The clustered store remembers missed slots itself (misfire: fire once and proceed).
            if (!options.Scheduler.Clustered && WorkerSchedule.BackupMissed(target.BackupSchedule, zone, latest?.StartedAt, time))
            {
                LogCatchUp(logger, target.Name, latest?.BackupId ?? "none");
                var catchUp = TriggerBuilder.Create()
                    .WithIdentity(WorkerJobs.CatchUp(target.Name))
                    .ForJob(WorkerJobs.Job(WorkerJobKind.Backup, target.Name))
                    .WithExecutionGroup(WorkerJobs.ExecutionGroup(WorkerJobKind.Backup))
                    .WithDescription($"catch-up backup of {target.Name}")
                    .StartNow()
                    .Build();
                await scheduler.ScheduleTrigger(catchUp, TriggerConflict.Keep, cancellationToken);
            }
        }
    }

    private static IJobDetail Job(WorkerJobKind kind, string target)
    {
        var type = kind switch
        {
            WorkerJobKind.Backup => typeof(BackupJob),
            WorkerJobKind.Drill => typeof(DrillJob),
            WorkerJobKind.BaseBackup => typeof(BaseBackupJob),
            _ => typeof(PruneJob),
        };
        return JobBuilder.Create().OfType(type)
            .WithIdentity(WorkerJobs.Job(kind, target))
            .UsingJobData(WorkerJobs.TargetKey, target)
            .StoreDurably()
            // A firing on a replica that dies is re-run by another (context.Recovering).
            .RequestRecovery()
            .Build();
    }

    private static bool SameSchedule(ITrigger existing, ITrigger wanted) =>
        existing.CalendarName == wanted.CalendarName && (existing, wanted) switch
        {
            (ICronTrigger a, ICronTrigger b) => a.CronExpressionString == b.CronExpressionString && a.TimeZone.Id == b.TimeZone.Id,
            (ISimpleTrigger a, ISimpleTrigger b) => a.RepeatInterval == b.RepeatInterval,
            _ => false,
        };

    [LoggerMessage(Level = LogLevel.Warning, Message = "No drill service is bound in this build: drills are not scheduled; backups and prunes are")]
    private static partial void LogNoDrillService(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule of trigger {Trigger} changed in the configuration: rescheduled")]
    private static partial void LogRescheduled(ILogger logger, string trigger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} belongs to no configured target: removed")]
    private static partial void LogRemoved(ILogger logger, string job);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the newest backup of {Target} at start-up: {Error}")]
    private static partial void LogSeedFailed(ILogger logger, string target, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Backup of {Target} missed a scheduled slot (newest backup: {BackupId}): one catch-up backup runs now")]
    private static partial void LogCatchUp(ILogger logger, string target, string backupId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled {Targets} target(s) with {Triggers} trigger(s); clustered {Clustered}")]
    private static partial void LogRegistered(ILogger logger, int targets, int triggers, bool clustered);
}
