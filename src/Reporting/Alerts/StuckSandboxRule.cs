using BackupDr.Repository.Alerts;

namespace BackupDr.Reporting.Alerts;

/// <summary>
/// What one complete janitor sweep saw: the problems of sandboxes that will not go away, by the target they belong
/// to, and the ids of every sandbox still present (a namespace deleting or not, a local folder).
/// </summary>
internal sealed record SandboxSweepState(IReadOnlyDictionary<string, IReadOnlyList<string>> StuckByTarget, IReadOnlySet<string> Present);

/// <summary>
/// The sandbox cleanup rule fed by two witnesses: the newest drill record (its sandbox's cleanup error, judged by
/// <see cref="AlertRules.Evaluate"/>) and the janitor's newest complete sweep. One verdict per target and rule, so the
/// incident neither flaps between the two witnesses nor opens twice.
/// </summary>
internal static class StuckSandboxRule
{
    /// <summary>
    /// Replaces each target's sandbox cleanup verdict with one that fires when either witness says so (details from
    /// both). A drill's cleanup error about a sandbox (a Kubernetes namespace, a local folder) the sweep no longer sees is
    /// over (it went after all). With no sweep known yet (<paramref name="sweep"/> null), a clear verdict is dropped (it cannot vouch
    /// for the cluster) and firing ones stand.
    /// </summary>
    public static IReadOnlyList<RuleVerdict> Merge(
        IReadOnlyList<RuleVerdict> verdicts, IEnumerable<TargetState> states, SandboxSweepState? sweep, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        ArgumentNullException.ThrowIfNull(states);
        var merged = verdicts.Where(v => v.Rule != AlertRule.SandboxCleanupFailed).ToList();
        foreach (var state in states)
        {
            var target = state.Target;
            var fromDrill = verdicts.FirstOrDefault(v => v.Rule == AlertRule.SandboxCleanupFailed && v.Target == target.Name);
            if (sweep is null)
            {
                if (fromDrill is { Firing: true })
                {
                    merged.Add(fromDrill);
                }

                continue;
            }

            if (fromDrill is { Firing: true } && state.LatestDrill?.Sandbox is { } sandbox && !sweep.Present.Contains(sandbox.Id))
            {
                fromDrill = AlertRules.SandboxCleanup(target, null, now) with
                {
                    Summary = sandbox.Kind == "kubernetes" ? $"Sandbox namespace {sandbox.Id} is gone." : $"Sandbox {sandbox.Id} is gone.",
                };
            }

            var problems = sweep.StuckByTarget.TryGetValue(target.Name, out var found) ? found : [];
            if (problems.Count == 0)
            {
                merged.Add(fromDrill ?? AlertRules.SandboxCleanup(target, null, now));
                continue;
            }

            var details = (fromDrill is { Firing: true } ? [fromDrill.Details] : Array.Empty<string>()).Concat(problems).Distinct();
            merged.Add(AlertRules.SandboxCleanup(target, string.Join(Environment.NewLine, details), fromDrill is { Firing: true } ? fromDrill.Since : now));
        }

        return merged;
    }
}
