using System.Security.Cryptography;
using BackupDr.BackupWorker.Alerts;
using BackupDr.BackupWorker.Metrics;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging;
using Quartz;

namespace BackupDr.BackupWorker.Scheduling;

/// <summary>What a job's service needs to know about the firing it serves.</summary>
/// <param name="Recovering">Re-run of a firing a dead (or stopped) replica did not finish.</param>
internal sealed record JobFiring(string FireInstanceId, DateTimeOffset ScheduledFireTime, bool Recovering);

/// <summary>
/// The frame every worker job runs in: a log scope (target, job, firing), the optional jitter, the running-jobs
/// gauge, and the job boundary (a failure is logged and counted once, then rethrown for Quartz).
/// </summary>
internal sealed partial class JobRunner(BackupDrOptions options, WorkerMetrics metrics, WorkerAlerts alerts, TimeProvider time, ILogger<JobRunner> logger)
{
    public async Task RunAsync(
        IJobExecutionContext context, WorkerJobKind kind, Func<TargetOptions, JobFiring, CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        var name = context.MergedJobDataMap.GetString(WorkerJobs.TargetKey) ?? "";
        var job = WorkerJobs.Name(kind);
        var firing = new JobFiring(context.FireInstanceId, context.ScheduledFireTimeUtc ?? context.FireTimeUtc, context.Recovering);
        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["Target"] = name,
            ["Job"] = job,
            ["FireInstanceId"] = firing.FireInstanceId,
            ["Recovering"] = firing.Recovering,
        });
        var target = options.FindTarget(name)
            ?? throw new JobExecutionException($"{job} job for '{name}': no such target in this replica's configuration (BackupDr:Targets)");

        // Recovered firings are already late: they start at once.
        var jitter = options.Scheduler.Jitter;
        if (jitter > TimeSpan.Zero && !firing.Recovering)
        {
            var delay = TimeSpan.FromMilliseconds(RandomNumberGenerator.GetInt32((int)Math.Min(int.MaxValue, jitter.TotalMilliseconds)));
            var seconds = delay.TotalSeconds;
            LogJitter(logger, job, target.Name, seconds);
            await Task.Delay(delay, time, cancellationToken);
        }

        metrics.JobStarted(kind);
        var started = time.GetTimestamp();
        try
        {
            LogStarted(logger, job, target.Name, firing.ScheduledFireTime, firing.Recovering);
            await work(target, firing, cancellationToken);
            var seconds = time.GetElapsedTime(started).TotalSeconds;
            LogFinished(logger, job, target.Name, seconds);
            await alerts.AfterJobAsync(kind, target, failure: null, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogCancelled(logger, job, target.Name);
            throw;
        }
        catch (Exception e)
        {
            // The job boundary: every failure is logged and counted here, then handed to Quartz (never swallowed).
            Count(kind, target.Name);
            LogFailed(logger, e, job, target.Name, e.Message);
            await alerts.AfterJobAsync(kind, target, e, cancellationToken);
            throw new JobExecutionException($"{job} of {target.Name} failed: {e.Message}", e);
        }
        finally
        {
            metrics.JobEnded(kind);
        }
    }

    private void Count(WorkerJobKind kind, string target)
    {
        switch (kind)
        {
            case WorkerJobKind.Backup or WorkerJobKind.BaseBackup:
                metrics.BackupFailed(target);
                break;
            case WorkerJobKind.Drill:
                metrics.DrillFailed(target);
                break;
            default:
                metrics.PruneFailed(target);
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled {Job} of {Target} waits {JitterSeconds:F1} s of jitter")]
    private static partial void LogJitter(ILogger logger, string job, string target, double jitterSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled {Job} of {Target} started (slot {ScheduledFireTime:O}, recovering {Recovering})")]
    private static partial void LogStarted(ILogger logger, string job, string target, DateTimeOffset scheduledFireTime, bool recovering);

    [LoggerMessage(Level = LogLevel.Information, Message = "Scheduled {Job} of {Target} finished in {Seconds:F1} s")]
    private static partial void LogFinished(ILogger logger, string job, string target, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduled {Job} of {Target} cancelled by shutdown; nothing was committed")]
    private static partial void LogCancelled(ILogger logger, string job, string target);

    [LoggerMessage(Level = LogLevel.Error, Message = "Scheduled {Job} of {Target} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string job, string target, string error);
}
