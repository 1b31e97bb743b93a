using System.Globalization;
using BackupDr.Reporting.Reports;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;

namespace BackupDr.Reporting.Alerts;

/// <summary>What the repository says about one target right now: its newest good backup and newest drill.</summary>
internal sealed record TargetState(TargetOptions Target, BackupManifest? LatestBackup, DrillRecord? LatestDrill);

/// <summary>
/// The alert rules, as verdicts per target (firing or clear) for <see cref="AlertEngine"/>. Rules read from the
/// repository are evaluated on a schedule and after every job; the rules about a job's own failure take its outcome.
/// Each firing verdict says what happened, since when, and what to do first.
/// </summary>
internal static class AlertRules
{
    /// <summary>
    /// Backup missing (a dead-man's switch: no good backup newer than the tier's RPO, which also fires when the worker
    /// itself is silent), drill failed or partially failed, RTO missed, RPO missed, and sandbox cleanup failed (from the
    /// newest drill record's sandbox): each firing or clear.
    /// </summary>
    /// <param name="lastHeartbeat">The newest heartbeat of any worker, or null when none was ever written.</param>
    public static IReadOnlyList<RuleVerdict> Evaluate(
        IReadOnlyDictionary<string, TierOptions> tiers, IEnumerable<TargetState> states, DateTimeOffset? lastHeartbeat, TimeSpan heartbeatEvery, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(tiers);
        ArgumentNullException.ThrowIfNull(states);
        var verdicts = new List<RuleVerdict>();
        foreach (var state in states)
        {
            var tier = tiers[state.Target.Tier];
            verdicts.Add(BackupMissing(state, tier, lastHeartbeat, heartbeatEvery, now));
            if (state.LatestDrill is { } drill)
            {
                verdicts.AddRange(Drill(state.Target, drill));
                verdicts.Add(SandboxCleanup(state.Target, drill.Sandbox.CleanupError, drill.CompletedAt));
            }
        }

        return verdicts;
    }

    /// <summary>The outcome of one backup run: firing when it failed, clear when it succeeded.</summary>
    public static RuleVerdict BackupRun(TargetOptions target, string? error, DateTimeOffset at, string? backupId) => error is null
        ? Verdict(target, AlertRule.BackupFailed, false, $"Backup {backupId} succeeded.", "", "", at)
        : Verdict(target, AlertRule.BackupFailed, true, $"The backup of {target.Name} failed.", error,
            $"Read the error below, fix its cause, then run 'backupdr backup --target {target.Name}' by hand and check it ends with a backup id.", at);

    /// <summary>The outcome of a verify: firing when an object was damaged, clear when every object read back whole.</summary>
    public static RuleVerdict Verify(TargetOptions target, string backupId, IReadOnlyList<string> damaged, DateTimeOffset at) => damaged.Count == 0
        ? Verdict(target, AlertRule.VerifyFoundDamage, false, $"Backup {backupId} verified whole.", "", "", at)
        : Verdict(target, AlertRule.VerifyFoundDamage, true, $"Verify found {damaged.Count} damaged object(s) in backup {backupId}.", string.Join(Environment.NewLine, damaged),
            $"Do not rely on backup {backupId}; take a new backup now ('backupdr backup --target {target.Name}') and check the storage (versioning, replication, disk) that damaged it.", at);

    /// <summary>Source damage found by a backup: referenced filestore files missing or not matching their SHA-1.</summary>
    public static RuleVerdict FilestoreDamage(TargetOptions target, string backupId, IReadOnlyList<string> problems, DateTimeOffset at) => problems.Count == 0
        ? Verdict(target, AlertRule.FilestoreDamage, false, $"Backup {backupId} found every referenced file intact.", "", "", at)
        : Verdict(target, AlertRule.FilestoreDamage, true, $"{problems.Count} attachment file(s) are missing or damaged in the live filestore of {target.Name}.",
            string.Join(Environment.NewLine, problems.Take(50)),
            "The damage is at the source, not in the backup: restore these files from an older backup ('backupdr restore --filestore-into') before anyone needs them.", at);

    /// <summary>A sandbox that could not be removed (a cluster still running, a namespace that will not go away).</summary>
    public static RuleVerdict SandboxCleanup(TargetOptions target, string? error, DateTimeOffset at) => error is null
        ? Verdict(target, AlertRule.SandboxCleanupFailed, false, "Sandboxes cleaned up.", "", "", at)
        : Verdict(target, AlertRule.SandboxCleanupFailed, true, $"A drill sandbox of {target.Name} could not be removed.", error,
            "Remove it by hand (the error names it) and check the sandbox host's disk; the janitor retries on its schedule.", at);

    private static RuleVerdict BackupMissing(TargetState state, TierOptions tier, DateTimeOffset? lastHeartbeat, TimeSpan heartbeatEvery, DateTimeOffset now)
    {
        var target = state.Target;
        var latest = state.LatestBackup?.RecoveryPoint;
        if (latest is { } point && now - point <= tier.Rpo)
        {
            return Verdict(target, AlertRule.BackupMissing, false, $"Backup {state.LatestBackup!.BackupId} is within the recovery-point target.", "", "", now);
        }

        var silent = lastHeartbeat is null || now - lastHeartbeat > 3 * heartbeatEvery;
        var age = latest is { } p ? ReportBuilder.Duration((now - p).TotalSeconds) + " old" : "missing: there has never been one";
        var summary = $"No good backup within the recovery-point target of {ReportBuilder.Duration(tier.Rpo.TotalSeconds)}: the newest is {age}.";
        var details = silent
            ? lastHeartbeat is { } beat
                ? string.Create(CultureInfo.InvariantCulture, $"The worker itself has been silent since {beat:yyyy-MM-dd HH:mm} UTC (no heartbeat in the repository).")
                : "No worker has ever written a heartbeat to this repository."
            : "The worker is alive (recent heartbeat): its backups of this target fail or are not scheduled.";
        var action = silent
            ? $"Check that 'backupdr run' is running (e.g. kubectl get pods -l app.kubernetes.io/name=backupdr), then run 'backupdr backup --target {target.Name}' by hand."
            : $"Read the worker's log for {target.Name}, then run 'backupdr backup --target {target.Name}' by hand.";
        return Verdict(target, AlertRule.BackupMissing, true, summary, details, action, latest is { } since ? since + tier.Rpo : now);
    }

    /// <summary>Drill failed or partially failed, RTO missed, RPO missed, from one drill record (the alert canary uses it too).</summary>
    public static IEnumerable<RuleVerdict> Drill(TargetOptions target, DrillRecord drill)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(drill);
        var failed = drill.Outcome != DrillOutcome.Passed;
        var reasons = string.Join(Environment.NewLine, drill.Reasons.Prepend(drill.Error ?? "").Where(r => r.Length > 0));
        yield return Verdict(target, AlertRule.DrillFailed, failed,
            failed ? $"Restore drill {drill.DrillId} of backup {drill.BackupId}: {drill.Outcome}." : $"Restore drill {drill.DrillId} passed.",
            reasons,
            drill.Outcome == DrillOutcome.Failed
                ? $"This backup could not be shown to bring {target.Name} back: read the drill record ('backupdr list --target {target.Name} --json'), fix the cause, run 'backupdr drill --target {target.Name}'."
                : $"The restore worked but a check or objective did not: read the drill record's probes and fix what failed.",
            drill.StartedAt);
        if (drill.Rto.Met is { } rtoMet)
        {
            yield return Verdict(target, AlertRule.RtoMissed, !rtoMet,
                $"Restore took {ReportBuilder.Duration(drill.Rto.AchievedSeconds ?? 0)} against a recovery-time target of {ReportBuilder.Duration(drill.Rto.TargetSeconds)} (drill {drill.DrillId}).",
                "", "Look at the drill's phase times: the slowest phase is where recovery time goes (download, pg_restore, filestore).", drill.StartedAt);
        }

        if (drill.Rpo.Met is { } rpoMet)
        {
            yield return Verdict(target, AlertRule.RpoMissed, !rpoMet,
                $"The restored data was {ReportBuilder.Duration(drill.Rpo.AchievedSeconds ?? 0)} old against a recovery-point target of {ReportBuilder.Duration(drill.Rpo.TargetSeconds)} (drill {drill.DrillId}).",
                "", "Back up more often (BackupSchedule) or enable point-in-time recovery for this target.", drill.StartedAt);
        }
    }

    /// <summary>
    /// PITR archive health from the archiver's status: firing when no archiver reported, when the archive's coverage is
    /// older than four flush intervals (at least two minutes: the point-in-time promise is broken from there on), or
    /// when the slot retains more than <see cref="PitrOptions.MaxSlotRetainedBytes"/> on the source (its disk can fill).
    /// </summary>
    public static RuleVerdict PitrArchive(TargetOptions target, Repository.Wal.PitrStatus? status, DateTimeOffset now)
    {
        var allowed = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(2).Ticks, target.Pitr.FlushInterval.Ticks * 4));
        var problems = new List<string>();
        if (status?.CoveredUntil is not { } covered)
        {
            problems.Add("no archiver has reported coverage of this target's WAL");
        }
        else if (now - covered > allowed)
        {
            problems.Add($"the archive covers the source only up to {covered:u} ({ReportBuilder.Duration((now - covered).TotalSeconds)} ago, more than {ReportBuilder.Duration(allowed.TotalSeconds)})");
        }

        if (status is not null && status.SlotRetainedBytes > target.Pitr.MaxSlotRetainedBytes)
        {
            problems.Add($"slot {status.Slot} holds {status.SlotRetainedBytes} bytes of WAL on the source, more than MaxSlotRetainedBytes {target.Pitr.MaxSlotRetainedBytes}");
        }

        return Verdict(target, AlertRule.PitrArchiveLagging, problems.Count > 0,
            problems.Count > 0 ? $"Point-in-time recovery of {target.Name} is at risk: {string.Join("; ", problems)}." : $"The WAL archive of {target.Name} is current.",
            "",
            "Check the archiver's log on the worker ('backupdr pitr status --target " + target.Name + "'): is the source reachable, does pg_receivewal run? "
            + "If the slot keeps growing and the archiver cannot be fixed soon, drop the slot on the source before its disk fills (then take a new base backup).",
            status?.WrittenAt ?? now);
    }

    /// <summary>
    /// A hole in the WAL archive after the oldest retained base backup: the point-in-time promise is broken from the
    /// first missing segment on (moments after it restore only from a base backup taken after the hole). It clears when
    /// the segments are back, or when retention has let go of every base backup before the hole.
    /// </summary>
    public static RuleVerdict PitrArchiveHole(TargetOptions target, Repository.Wal.WalContinuity continuity, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(continuity);
        var chain = continuity.Chain;
        if (chain is null || chain.IsContinuous)
        {
            return Verdict(target, AlertRule.PitrArchiveHole, false, chain is null
                ? $"{target.Name} has no PITR base backup yet: no archive continuity to check."
                : $"The WAL archive of {target.Name} is continuous from {chain.FirstSegment} to {chain.LastSegment}.", "", "", now);
        }

        var gap = continuity.FirstGap;
        var from = gap is null ? "its timeline history" : $"WAL segment {gap.FirstMissing}";
        var when = continuity.LastArchivedBeforeHole is { } t ? string.Create(CultureInfo.InvariantCulture, $" (WAL written after about {t:yyyy-MM-dd HH:mm:ss} UTC)") : "";
        var again = continuity.RestorableAgainFrom is { } b
            ? string.Create(CultureInfo.InvariantCulture, $" Moments from {b.RecoveryPoint:yyyy-MM-dd HH:mm:ss} UTC on restore again from base backup {b.BackupId}.")
            : " No base backup was taken after it: nothing after the hole can be restored to a moment.";
        return Verdict(target, AlertRule.PitrArchiveHole, true,
            $"The point-in-time promise of {target.Name} is broken from {from}{when}: the archive misses WAL that recovery needs.{again}",
            string.Join(Environment.NewLine, chain.Gaps.Select(g => "gap: " + g).Concat(chain.Problems)),
            (continuity.RestorableAgainFrom is null ? $"First take a base backup now ('backupdr pitr base-backup --target {target.Name}') so that moments from now on are restorable again. Then " : "First ")
            + $"find why WAL is missing ('backupdr verify --target {target.Name} --wal'; a lost spool volume, objects deleted outside BackupDr) and restore the objects from storage versioning if you can. "
            + "Until then, the moments between the hole and the next base backup can only be recovered from dump backups.",
            continuity.LastArchivedBeforeHole ?? now);
    }

    private static RuleVerdict Verdict(TargetOptions target, AlertRule rule, bool firing, string summary, string details, string action, DateTimeOffset since) =>
        new(target.Name, target.Tenant, target.Environment, rule, firing, summary, details, action, since);
}
