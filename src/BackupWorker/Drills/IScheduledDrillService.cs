using BackupDr.Repository.Configuration;

namespace BackupDr.BackupWorker.Drills;

/// <summary>Which backup a scheduled drill restores.</summary>
internal enum DrillBackupChoice
{
    /// <summary>The target's newest backup: what an incident would restore.</summary>
    Latest,

    /// <summary>An older retained backup, least recently drilled first.</summary>
    Sample,
}

internal enum ScheduledDrillOutcome
{
    Passed,
    PartiallyFailed,
    Failed,
}

/// <summary>What a drill reports back to the scheduler: enough for metrics and logs; the drill record is the evidence.</summary>
/// <param name="AchievedRto">Drill start until every critical probe passed; null when they did not all pass.</param>
/// <param name="AchievedRpo">Drill start minus the restored backup's recovery point.</param>
internal sealed record ScheduledDrillResult(
    string DrillId,
    string BackupId,
    ScheduledDrillOutcome Outcome,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt,
    TimeSpan? AchievedRto,
    TimeSpan? AchievedRpo);

/// <summary>
/// The seam between the scheduler and the drill pipeline of issue [4]. The composition root binds it to the drill
/// service; while nothing is bound, <c>backupdr run</c> schedules no drill and says so at start-up.
/// Contract: the sandbox is torn down before the task completes, also on cancellation; an expected failure (a probe
/// failed) is an outcome, an exception means the drill could not run at all.
/// </summary>
internal interface IScheduledDrillService
{
    Task<ScheduledDrillResult> RunAsync(TargetOptions target, DrillBackupChoice backup, CancellationToken cancellationToken);
}
