using System.Globalization;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Wal;

namespace BackupDr.Repository.Retention;

/// <summary>What retention allows to go from a target's WAL archive, and why.</summary>
/// <param name="KeepFrom">The start segment of the oldest retained base backup: every segment before it goes (null: no WAL goes).</param>
/// <param name="Objects">The WAL objects that may be deleted (segments and partials before <paramref name="KeepFrom"/>,
/// history files of timelines older than its timeline).</param>
internal sealed record WalRetentionPlan(string? KeepFrom, string? OldestRetainedBaseBackup, IReadOnlyList<ArchivedWal> Objects, string Reason)
{
    public long Bytes => Objects.Sum(o => o.SizeBytes);
}

/// <summary>The decisions for a PITR target's base backups (newest first) and its WAL.</summary>
internal sealed record PitrRetentionPlan(IReadOnlyList<RetentionDecision> BaseBackups, WalRetentionPlan Wal);

/// <summary>
/// Retention of a PITR target, pure. Base backups: the newest is always kept; so is every base backup whose recovery
/// point lies inside the tier's <c>PitrWindow</c>, the newest one before the window's start (without it the window's
/// first moments could not be restored: a restore replays from the newest base backup before the moment), and every
/// base backup an open drill restores. WAL: recovery from a base backup reads segments from its start segment on, so
/// every segment (whole or partial, on any timeline) before the start segment of the oldest retained base backup goes;
/// history files go only for timelines older than that base backup's timeline (recovery reads the history file of the
/// timeline it follows, which lists every older one). Nothing of the WAL goes while no base backup exists.
/// </summary>
internal static class PitrRetentionPlanner
{
    public static PitrRetentionPlan Plan(
        IReadOnlyList<BackupManifest> baseBackups, WalListing wal, TimeSpan window, IReadOnlySet<string> inOpenDrill, DateTimeOffset now)
    {
        var newestFirst = baseBackups.OrderByDescending(b => b.RecoveryPoint).ThenByDescending(b => b.BackupId, StringComparer.Ordinal).ToList();
        var windowStart = now - window;
        var coveringStart = newestFirst.FirstOrDefault(b => b.RecoveryPoint <= windowStart);
        var windowText = string.Create(CultureInfo.InvariantCulture, $"PitrWindow {window:c}, from {windowStart.UtcDateTime:yyyy-MM-dd HH:mm}Z");
        var decisions = new List<RetentionDecision>();
        foreach (var backup in newestFirst)
        {
            var reasons = new List<string>();
            if (ReferenceEquals(backup, newestFirst[0]))
            {
                reasons.Add("newest base backup");
            }

            if (backup.RecoveryPoint > windowStart)
            {
                reasons.Add($"inside the {windowText}");
            }

            if (ReferenceEquals(backup, coveringStart))
            {
                reasons.Add($"restores the first moments of the {windowText}");
            }

            if (inOpenDrill.Contains(backup.BackupId))
            {
                reasons.Add("used by an open drill");
            }

            decisions.Add(reasons.Count > 0
                ? new RetentionDecision(backup.BackupId, backup.RecoveryPoint, Keep: true, reasons)
                : new RetentionDecision(backup.BackupId, backup.RecoveryPoint, Keep: false,
                    [$"older than base backup {coveringStart?.BackupId}, which restores the first moments of the {windowText}"]));
        }

        return new PitrRetentionPlan(decisions, PlanWal(baseBackups, decisions, wal));
    }

    /// <summary>The WAL that no kept base backup needs, given the decisions (kept ones only).</summary>
    public static WalRetentionPlan PlanWal(IReadOnlyList<BackupManifest> baseBackups, IEnumerable<RetentionDecision> decisions, WalListing wal)
    {
        var kept = decisions.Where(d => d.Keep).Select(d => d.BackupId).ToHashSet(StringComparer.Ordinal);
        var oldest = baseBackups.Where(b => kept.Contains(b.BackupId))
            .MinBy(b => Lsn.Parse(b.Pitr!.StartLsn));
        if (oldest is null)
        {
            return new WalRetentionPlan(null, null, [], "no base backup is retained yet: the archive is kept whole for the first one");
        }

        var pitr = oldest.Pitr!;
        var from = WalSegmentName.Parse(pitr.StartSegment, pitr.WalSegmentSizeBytes);
        var expired = wal.Objects.Where(o => o.Kind == WalObjectKind.History
                ? o.Timeline < from.Timeline
                : WalSegmentName.TryParse(o.FileName, pitr.WalSegmentSizeBytes, out var name) && name.Segment < from.Segment)
            .ToList();
        return new WalRetentionPlan(pitr.StartSegment, oldest.BackupId, expired,
            $"before {pitr.StartSegment}, the start of the oldest retained base backup {oldest.BackupId}");
    }
}
