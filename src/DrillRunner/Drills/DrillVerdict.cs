using System.Globalization;
using BackupDr.Repository.Drills;

namespace BackupDr.DrillRunner.Drills;

/// <summary>
/// Turns what a drill found into its outcome. Failed: the drill stopped with an error or a critical probe failed.
/// PartiallyFailed: every critical probe passed, but a non-critical probe failed or a recovery objective was missed.
/// Passed: everything else. A skipped probe is shown in the record but is neither a pass nor a failure.
/// </summary>
internal static class DrillVerdict
{
    public static (DrillOutcome Outcome, IReadOnlyList<string> Reasons) Decide(
        string? error, IReadOnlyList<ProbeRecord> probes, ObjectiveRecord rto, ObjectiveRecord rpo)
    {
        var critical = new List<string>();
        var partial = new List<string>();
        if (error is not null)
        {
            critical.Add($"the drill stopped: {error}");
        }

        foreach (var probe in probes.Where(p => p.Status == ProbeStatus.Failed))
        {
            (probe.Critical ? critical : partial).Add($"{(probe.Critical ? "critical" : "non-critical")} probe {probe.Name} failed: {probe.Details}");
        }

        if (error is null && rto.Met == false && rto.AchievedSeconds is { } achieved)
        {
            partial.Add(string.Create(CultureInfo.InvariantCulture,
                $"achieved RTO {Format(achieved)} exceeds the tier's {Format(rto.TargetSeconds)}"));
        }

        if (rpo.Met == false && rpo.AchievedSeconds is { } loss)
        {
            partial.Add(string.Create(CultureInfo.InvariantCulture,
                $"achieved RPO {Format(loss)} exceeds the tier's {Format(rpo.TargetSeconds)}"));
        }

        var outcome = critical.Count > 0 ? DrillOutcome.Failed : partial.Count > 0 ? DrillOutcome.PartiallyFailed : DrillOutcome.Passed;
        return (outcome, [.. critical, .. partial]);
    }

    /// <summary>A duration as the tiers write it: <c>[d.]hh:mm:ss</c>.</summary>
    public static string Format(double seconds) =>
        TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds >= 86400 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", CultureInfo.InvariantCulture);
}
