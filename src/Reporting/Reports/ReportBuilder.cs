using System.Globalization;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Wal;
using Quartz;

namespace BackupDr.Reporting.Reports;

/// <summary>
/// Computes the monthly report from its inputs: pure, so every figure can be checked against figures computed
/// directly from the same records. "Proven recoverable" means a drill of the month restored the environment with every
/// critical probe passing (outcome Passed or PartiallyFailed); a missed RTO, RPO or a gap between good recovery
/// points longer than the RPO makes it "target missed".
/// </summary>
internal static class ReportBuilder
{
    public static MonthlyReport Build(BackupDrOptions options, ReportInputs inputs, DateOnly month, DateTimeOffset now, string repository)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(inputs);
        var periodStart = new DateTimeOffset(month.Year, month.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var periodEnd = periodStart.AddMonths(1) < now ? periodStart.AddMonths(1) : now;
        var backups = inputs.Backups.ToLookup(b => b.Target, StringComparer.Ordinal);
        var drills = inputs.Drills.ToLookup(d => d.Record.Target, StringComparer.Ordinal);
        var incidents = inputs.Incidents.ToLookup(i => i.Opened.Target, StringComparer.Ordinal);
        var environments = options.Targets
            .Select(t => (t.Tenant, Section: Environment(
                options, t, backups[t.Name], [.. drills[t.Name].Select(d => d.Record)], incidents[t.Name],
                inputs.StoredBytesByTarget.GetValueOrDefault(t.Name), inputs.PitrCoverage?.GetValueOrDefault(t.Name) ?? [], periodStart, periodEnd, month)))
            .ToList();
        var price = options.Repository.PricePerGbMonth;
        var tenants = environments
            .GroupBy(e => e.Tenant, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var bytes = g.Sum(e => e.Section.StoredBytes);
                return new TenantSection(g.Key, bytes, price > 0 ? Math.Round(bytes / 1e9m * price, 2) : null, [.. g.Select(e => e.Section)]);
            })
            .ToList();
        var sections = environments.Select(e => (e.Tenant, e.Section)).ToList();
        return new MonthlyReport
        {
            Month = month.ToString("yyyy-MM", CultureInfo.InvariantCulture),
            PeriodStart = periodStart,
            PeriodEnd = periodEnd,
            GeneratedAt = now,
            Repository = repository,
            Summary = Summary(sections, inputs, periodStart, periodEnd),
            Alerts = AlertProofOf(inputs.Canaries, periodStart, periodEnd),
            Tenants = tenants,
            Evidence = Evidence(inputs, periodStart, periodEnd),
            Currency = options.Repository.Currency,
        };
    }

    /// <summary>"1 h 12 min", "45 s", "3 d 4 h".</summary>
    public static string Duration(double seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Round(seconds));
        return span.TotalDays >= 1 ? $"{(int)span.TotalDays} d {span.Hours} h"
            : span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
            : span.TotalMinutes >= 1 ? $"{span.Minutes} min {span.Seconds} s"
            : $"{span.Seconds} s";
    }

    public static int ScheduledBetween(string cron, DateTimeOffset start, DateTimeOffset end)
    {
        var expression = new CronExpression(cron, TimeZoneInfo.Utc);
        var count = 0;
        for (var next = expression.GetNextValidTimeAfter(start.AddTicks(-1)); next is { } time && time < end; next = expression.GetNextValidTimeAfter(time))
        {
            count++;
        }

        return count;
    }

    private static EnvironmentSection Environment(
        BackupDrOptions options, TargetOptions target, IEnumerable<BackupPoint> backups, IReadOnlyList<DrillRecord> drills, IEnumerable<Incident> incidents,
        long storedBytes, IReadOnlyList<RestorableSpan> pitr, DateTimeOffset periodStart, DateTimeOffset periodEnd, DateOnly month)
    {
        var tier = options.Tiers[target.Tier];
        var rto = tier.Rto.TotalSeconds;
        var rpo = tier.Rpo.TotalSeconds;
        var points = backups.OrderBy(b => b.RecoveryPoint).ToList();
        var taken = points.Count(b => b.StartedAt >= periodStart && b.StartedAt < periodEnd);
        var scheduled = ScheduledBetween(target.BackupSchedule, periodStart, periodEnd);
        var monthDrills = drills.Where(d => d.StartedAt >= periodStart && d.StartedAt < periodEnd).ToList();
        var proven = monthDrills.Any(d => d.Outcome != DrillOutcome.Failed);
        var worstRto = monthDrills.Select(d => d.Rto.AchievedSeconds).Max();
        var worstRpo = monthDrills.Select(d => d.Rpo.AchievedSeconds).Max();
        var (gap, gapStart) = WorstGap([.. points.Select(p => new RestorableSpan(p.RecoveryPoint, p.RecoveryPoint)), .. pitr], periodStart, periodEnd);

        var findings = new List<string>();
        if (!proven)
        {
            findings.Add(monthDrills.Count == 0
                ? "No restore drill ran this month: recoverability is not proven."
                : $"All {monthDrills.Count} restore drill(s) of the month failed: recoverability is not proven.");
        }

        var missedRto = monthDrills.Any(d => d.Rto.Met == false);
        if (missedRto)
        {
            findings.Add($"Missed its recovery-time target: worst restore took {Duration(worstRto ?? 0)} against {Duration(rto)}.");
        }

        var missedRpo = monthDrills.Any(d => d.Rpo.Met == false) || gap > rpo;
        if (gap > rpo)
        {
            findings.Add(string.Create(CultureInfo.InvariantCulture,
                $"Longest time without a good backup: {Duration(gap.Value)} from {gapStart:yyyy-MM-dd HH:mm} UTC, against a recovery-point target of {Duration(rpo)}."));
        }
        else if (monthDrills.Any(d => d.Rpo.Met == false))
        {
            findings.Add($"Missed its recovery-point target in a drill: {Duration(worstRpo ?? 0)} against {Duration(rpo)}.");
        }

        if (taken < scheduled)
        {
            findings.Add($"Took {taken} of {scheduled} scheduled backups.");
        }

        var trend = Enumerable.Range(0, 12)
            .Select(i => month.AddMonths(i - 11))
            .Select(m =>
            {
                var start = new DateTimeOffset(m.Year, m.Month, 1, 0, 0, 0, TimeSpan.Zero);
                var inMonth = drills.Where(d => d.StartedAt >= start && d.StartedAt < start.AddMonths(1)).ToList();
                return new TrendPoint(m.ToString("yyyy-MM", CultureInfo.InvariantCulture), inMonth.Select(d => d.Rto.AchievedSeconds).Max(), inMonth.Select(d => d.Rpo.AchievedSeconds).Max());
            })
            .ToList();

        var lines = incidents
            .Where(i => i.Opened.At < periodEnd && (i.ResolvedAt is null || i.ResolvedAt >= periodStart))
            .Select(i => new IncidentLine(
                i.Opened.IncidentId, i.Opened.Rule.ToString(), i.Opened.Since, i.ResolvedAt,
                i.ResolvedAt is { } resolved ? Math.Round((resolved - i.Opened.Since).TotalHours, 1) : null, i.Opened.Summary))
            .OrderBy(i => i.OpenedAt)
            .ToList();

        return new EnvironmentSection(
            target.Name, target.Environment, target.Tier, rto, rpo, scheduled, taken, monthDrills.Count,
            monthDrills.Count(d => d.Outcome == DrillOutcome.Passed), worstRto, worstRpo, gap, gapStart,
            !proven ? EnvironmentVerdict.NotProven : missedRto || missedRpo ? EnvironmentVerdict.TargetMissed : EnvironmentVerdict.Proven,
            findings, trend, lines, storedBytes);
    }

    /// <summary>
    /// The longest stretch of the period not covered by a newer recovery point: from the last restorable moment before
    /// the period (or the period start when there is none) to the next one, ..., to the end of the period. A dump backup
    /// is one restorable moment; a PITR target adds the stretches its base backups and continuous WAL archive restore,
    /// inside which nothing is a gap.
    /// </summary>
    private static (double? Seconds, DateTimeOffset? Start) WorstGap(IReadOnlyList<RestorableSpan> covered, DateTimeOffset periodStart, DateTimeOffset periodEnd)
    {
        var previous = covered.Where(c => c.From < periodStart).Select(c => c.To < periodEnd ? c.To : periodEnd).DefaultIfEmpty(periodStart).Max();
        double worst = 0;
        var worstStart = previous;
        foreach (var span in covered.Where(c => c.From >= periodStart && c.From < periodEnd).OrderBy(c => c.From).Append(new RestorableSpan(periodEnd, periodEnd)))
        {
            var gap = (span.From - previous).TotalSeconds;
            if (gap > worst)
            {
                (worst, worstStart) = (gap, previous);
            }

            var end = span.To < periodEnd ? span.To : periodEnd;
            previous = end > previous ? end : previous;
        }

        return (worst, worstStart);
    }

    private static ReportSummary Summary(List<(string Tenant, EnvironmentSection Section)> sections, ReportInputs inputs, DateTimeOffset start, DateTimeOffset end)
    {
        var all = sections.Select(s => s.Section).ToList();
        var proven = all.Count(s => s.Verdict != EnvironmentVerdict.NotProven);
        var missedRto = all.Count(s => s.Findings.Any(f => f.StartsWith("Missed its recovery-time", StringComparison.Ordinal)));
        var missedRpo = all.Count(s => s.Findings.Any(f => f.StartsWith("Longest time without", StringComparison.Ordinal) || f.StartsWith("Missed its recovery-point", StringComparison.Ordinal)));
        var headline = $"{proven} of {all.Count} environments proven recoverable this month";
        if (missedRto > 0)
        {
            headline += $"; {missedRto} missed {(missedRto == 1 ? "its" : "their")} recovery-time target";
        }

        if (missedRpo > 0)
        {
            headline += $"; {missedRpo} missed {(missedRpo == 1 ? "its" : "their")} recovery-point target";
        }

        var lines = sections
            .Where(s => s.Section.Findings.Count > 0)
            .OrderBy(s => s.Section.Verdict)
            .ThenBy(s => s.Tenant, StringComparer.Ordinal)
            .Select(s => $"{s.Tenant}/{s.Section.Environment} ({s.Section.Target}): {s.Section.Findings[0]}")
            .ToList();
        var incidents = inputs.Incidents.Count(i => i.Opened.At < end && (i.ResolvedAt is null || i.ResolvedAt >= start));
        return new ReportSummary(
            all.Count, proven, all.Count - proven, missedRto, missedRpo, all.Sum(s => s.BackupsScheduled), all.Sum(s => s.BackupsTaken),
            all.Sum(s => s.DrillsRun), all.Sum(s => s.DrillsPassed), incidents, headline + ".", lines);
    }

    private static AlertProof AlertProofOf(IReadOnlyList<CanaryRecord> canaries, DateTimeOffset start, DateTimeOffset end)
    {
        var month = canaries.Where(c => c.At >= start && c.At < end).ToList();
        var last = month.Where(c => c.Proven).Select(c => (DateTimeOffset?)c.At).Max();
        var statement = last is { } at
            ? string.Create(CultureInfo.InvariantCulture, $"Alerts proven to reach on-call on {at:yyyy-MM-dd}.")
            : month.Count > 0
                ? $"Alerts were tested {month.Count} time(s) this month and never reached every channel: on-call may not hear of a failure."
                : "Alerts were not tested this month: run 'backupdr alert test' (the worker's monthly canary does it on schedule).";
        return new AlertProof(last, month.Count, statement);
    }

    private static List<EvidenceItem> Evidence(ReportInputs inputs, DateTimeOffset start, DateTimeOffset end) =>
    [
        .. inputs.Backups.Where(b => b.StartedAt >= start && b.StartedAt < end)
            .Select(b => new EvidenceItem("backup", b.Target, b.BackupId, b.RecoveryPoint, b.ManifestSha256, "committed")),
        .. inputs.Drills.Where(d => d.Record.StartedAt >= start && d.Record.StartedAt < end)
            .Select(d => new EvidenceItem("drill", d.Record.Target, d.Record.DrillId, d.Record.StartedAt, d.Sha256, d.Record.Outcome.ToString())),
    ];
}
