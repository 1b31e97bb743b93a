using System.Globalization;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Drills;

namespace BackupDr.DrillRunner.Drills;

/// <summary>The grandfather-father-son class a recovery point belongs to.</summary>
internal enum RetentionClass
{
    /// <summary>The first backup of its calendar month (UTC): kept longest.</summary>
    Monthly,

    /// <summary>The first backup of its ISO week that is not a monthly one.</summary>
    Weekly,

    Daily,
}

internal sealed record SampledBackup(BackupManifest Manifest, RetentionClass Class, string Reason);

/// <summary>
/// Chooses the backup of a <c>--backup sample</c> drill: an older retained backup (never the newest, which the regular
/// drills prove), from the retention class whose last drill is oldest (a class never drilled first, monthly before
/// weekly before daily on a tie), then within it a weighted draw favouring backups never or least recently drilled.
/// Over successive drills every class, and in time every kept backup, is restored at least once.
/// </summary>
internal static class BackupSampler
{
    /// <summary>Extra days of weight for a backup never drilled, so it is strongly preferred over one drilled long ago.</summary>
    private const double NeverDrilledBonusDays = 60;

    public static RetentionClass Classify(BackupManifest backup, IReadOnlyList<BackupManifest> all)
    {
        var point = backup.RecoveryPoint.UtcDateTime;
        bool FirstOf(Func<DateTime, bool> samePeriod) =>
            !all.Any(b => samePeriod(b.RecoveryPoint.UtcDateTime) && string.CompareOrdinal(b.BackupId, backup.BackupId) < 0);
        if (FirstOf(d => d.Year == point.Year && d.Month == point.Month))
        {
            return RetentionClass.Monthly;
        }

        return FirstOf(d => ISOWeek.GetYear(d) == ISOWeek.GetYear(point) && ISOWeek.GetWeekOfYear(d) == ISOWeek.GetWeekOfYear(point))
            ? RetentionClass.Weekly
            : RetentionClass.Daily;
    }

    /// <param name="backups">The target's committed backups (any order).</param>
    /// <param name="drills">The target's earlier drill records.</param>
    /// <exception cref="BackupNotFoundException">The target has no backup.</exception>
    public static SampledBackup Choose(
        IReadOnlyList<BackupManifest> backups, IReadOnlyList<DrillRecord> drills, DateTimeOffset now, Random random, string target)
    {
        if (backups.Count == 0)
        {
            throw new BackupNotFoundException($"target '{target}' has no backup to sample; take one with 'backupdr backup --target {target}'.");
        }

        var ordered = backups.OrderByDescending(b => b.BackupId, StringComparer.Ordinal).ToList();
        if (ordered.Count == 1)
        {
            return new SampledBackup(ordered[0], Classify(ordered[0], ordered), "sample: the only backup of the target");
        }

        var lastDrilled = drills.GroupBy(d => d.BackupId).ToDictionary(g => g.Key, g => g.Max(d => d.StartedAt), StringComparer.Ordinal);
        var candidates = ordered.Skip(1)
            .Select(b => (Backup: b, Class: Classify(b, ordered), Last: lastDrilled.TryGetValue(b.BackupId, out var at) ? at : (DateTimeOffset?)null))
            .ToList();

        // The class whose most recent drill is oldest; never drilled counts as oldest of all.
        var chosenClass = candidates.GroupBy(c => c.Class)
            .Select(g => (Class: g.Key, Last: g.Max(c => c.Last)))
            .OrderBy(g => g.Last ?? DateTimeOffset.MinValue)
            .ThenBy(g => g.Class)
            .First();

        var pool = candidates.Where(c => c.Class == chosenClass.Class).ToList();
        var weights = pool.Select(c => 1 + (c.Last is { } last
            ? Math.Max(0, (now - last).TotalDays)
            : Math.Max(0, (now - c.Backup.RecoveryPoint).TotalDays) + NeverDrilledBonusDays)).ToList();
        var draw = random.NextDouble() * weights.Sum();
        var index = 0;
        while (index < pool.Count - 1 && draw >= weights[index])
        {
            draw -= weights[index];
            index++;
        }

        var picked = pool[index];
        var classNote = chosenClass.Last is null ? "never drilled" : $"last drilled {chosenClass.Last:yyyy-MM-dd}";
        var backupNote = picked.Last is null ? "this backup never drilled" : $"this backup last drilled {picked.Last:yyyy-MM-dd}";
        return new SampledBackup(picked.Backup, picked.Class,
            string.Create(CultureInfo.InvariantCulture,
                $"sample: {picked.Class.ToString().ToLowerInvariant()} class ({classNote}), {pool.Count} candidate(s), {backupNote}"));
    }
}
