using BackupDr.BackupWorker.Metrics;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Drills;

/// <summary>
/// A scheduled drill: the bound <see cref="IScheduledDrillService"/> on the target's newest backup, its outcome
/// logged with the drill id and recorded in the metrics. A failed drill is an outcome, not a job failure; it is
/// counted in <c>backupdr_job_failures_total{kind="drill"}</c> all the same.
/// </summary>
internal sealed partial class ScheduledDrillRunner(IScheduledDrillService drills, WorkerMetrics metrics, ILogger<ScheduledDrillRunner> logger)
{
    public async Task RunAsync(TargetOptions target, CancellationToken cancellationToken)
    {
        var result = await drills.RunAsync(target, DrillBackupChoice.Latest, cancellationToken);
        metrics.DrillCompleted(target.Name, result);
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["DrillId"] = result.DrillId, ["BackupId"] = result.BackupId });
        if (result.Outcome == ScheduledDrillOutcome.Passed)
        {
            LogPassed(logger, target.Name, result.DrillId, result.BackupId, result.AchievedRto?.TotalSeconds, result.AchievedRpo?.TotalSeconds);
        }
        else
        {
            LogNotPassed(logger, target.Name, result.DrillId, result.BackupId, result.Outcome);
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Drill {DrillId} of {Target} passed on backup {BackupId}: achieved RTO {RtoSeconds} s, RPO {RpoSeconds} s")]
    private static partial void LogPassed(ILogger logger, string target, string drillId, string backupId, double? rtoSeconds, double? rpoSeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Drill {DrillId} of {Target} on backup {BackupId}: {Outcome}")]
    private static partial void LogNotPassed(ILogger logger, string target, string drillId, string backupId, ScheduledDrillOutcome outcome);
}
