using System.Globalization;
using BackupDr.Repository.Configuration;

namespace BackupDr.Repository.Retention;

/// <summary>One committed backup as retention sees it.</summary>
internal sealed record RetentionCandidate(string BackupId, DateTimeOffset RecoveryPoint);

/// <summary>
/// What drills say about a target's backups: the ids whose drill passed (the newest of them is kept) and the ids
/// an open (running) drill restores from (all kept). The drill records of issue [4] provide both.
/// </summary>
internal sealed record RetentionProtections(IReadOnlySet<string> DrillPassed, IReadOnlySet<string> InOpenDrill)
{
    public static RetentionProtections None { get; } = new(new HashSet<string>(), new HashSet<string>());
}

/// <param name="Keep">False: retention allows deleting it.</param>
/// <param name="Reasons">Why it is kept (every rule that keeps it), or the one reason it may go.</param>
internal sealed record RetentionDecision(string BackupId, DateTimeOffset RecoveryPoint, bool Keep, IReadOnlyList<string> Reasons);

/// <summary>The decisions for one target, newest backup first.</summary>
internal sealed record RetentionPlan(string Target, IReadOnlyList<RetentionDecision> Decisions)
{
    public IEnumerable<RetentionDecision> Kept => Decisions.Where(d => d.Keep);

    public IEnumerable<RetentionDecision> Deleted => Decisions.Where(d => !d.Keep);
}

/// <summary>
/// Grandfather-father-son retention, pure: the newest backup of each of the last <c>Daily</c> days, <c>Weekly</c>
/// ISO weeks and <c>Monthly</c> months that have backups (days, weeks and months in the scheduler's time zone, by
/// recovery point). Whatever those counts say, it never lets go of the newest backup, the newest backup whose drill
/// passed, a backup an open drill uses, or a backup younger than the tier's <c>KeepWithin</c>.
/// </summary>
internal static class RetentionPlanner
{
    public static RetentionPlan Plan(
        string target,
        IEnumerable<RetentionCandidate> backups,
        RetentionOptions policy,
        RetentionProtections protections,
        TimeProvider time,
        TimeZoneInfo zone)
    {
        var now = time.GetUtcNow();
        var newestFirst = backups
            .OrderByDescending(b => b.RecoveryPoint)
            .ThenByDescending(b => b.BackupId, StringComparer.Ordinal)
            .ToList();
        var reasons = newestFirst.ToDictionary(b => b.BackupId, _ => new List<string>(), StringComparer.Ordinal);

        if (newestFirst.Count > 0)
        {
            reasons[newestFirst[0].BackupId].Add("newest backup");
        }

        var newestPassed = newestFirst.FirstOrDefault(b => protections.DrillPassed.Contains(b.BackupId));
        if (newestPassed is not null)
        {
            reasons[newestPassed.BackupId].Add("newest backup whose drill passed");
        }

        foreach (var backup in newestFirst)
        {
            var list = reasons[backup.BackupId];
            if (protections.InOpenDrill.Contains(backup.BackupId))
            {
                list.Add("used by an open drill");
            }

            if (now - backup.RecoveryPoint < policy.KeepWithin)
            {
                list.Add($"younger than KeepWithin {policy.KeepWithin:c}");
            }
        }

        KeepNewestPerPeriod(newestFirst, reasons, policy.Daily, "daily",
            b => TimeZoneInfo.ConvertTime(b.RecoveryPoint, zone).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        KeepNewestPerPeriod(newestFirst, reasons, policy.Weekly, "weekly", b =>
        {
            var local = TimeZoneInfo.ConvertTime(b.RecoveryPoint, zone).DateTime;
            return string.Create(CultureInfo.InvariantCulture, $"{ISOWeek.GetYear(local)}-W{ISOWeek.GetWeekOfYear(local):00}");
        });
        KeepNewestPerPeriod(newestFirst, reasons, policy.Monthly, "monthly",
            b => TimeZoneInfo.ConvertTime(b.RecoveryPoint, zone).ToString("yyyy-MM", CultureInfo.InvariantCulture));

        var expired = $"not the newest of a kept day, week or month (Daily {policy.Daily}, Weekly {policy.Weekly}, Monthly {policy.Monthly}) and older than KeepWithin {policy.KeepWithin:c}";
        return new RetentionPlan(target, newestFirst
            .Select(b => reasons[b.BackupId] is { Count: > 0 } kept
                ? new RetentionDecision(b.BackupId, b.RecoveryPoint, Keep: true, kept)
                : new RetentionDecision(b.BackupId, b.RecoveryPoint, Keep: false, [expired]))
            .ToList());
    }

    /// <summary>Keeps the newest backup of each of the <paramref name="count"/> most recent periods that have one.</summary>
    private static void KeepNewestPerPeriod(
        List<RetentionCandidate> newestFirst, Dictionary<string, List<string>> reasons, int count, string label, Func<RetentionCandidate, string> period)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var backup in newestFirst)
        {
            if (seen.Count >= count)
            {
                return;
            }

            var key = period(backup);
            if (seen.Add(key))
            {
                reasons[backup.BackupId].Add($"{label} {key} ({seen.Count} of {count})");
            }
        }
    }
}
