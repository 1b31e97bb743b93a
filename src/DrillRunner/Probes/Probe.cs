using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Postgres;

namespace BackupDr.DrillRunner.Probes;

/// <summary>Everything a probe may look at: the restored copy, what the backup recorded, and the target's settings.</summary>
/// <param name="ConnectionString">The restored database in the sandbox.</param>
/// <param name="Database">Its name (the source database's name).</param>
/// <param name="Evidence">What the backup recorded inside its snapshot (row counts, fingerprints, ledger totals).</param>
/// <param name="FilestorePath">The restored filestore, or null when none was restored (<paramref name="FilestoreSkipReason"/> says why).</param>
internal sealed record ProbeContext(
    string ConnectionString,
    string Database,
    BackupManifest Manifest,
    DatabaseEvidenceRecord Evidence,
    string? FilestorePath,
    string? FilestoreSkipReason,
    TargetOptions Target)
{
    /// <summary>
    /// Every file in <see cref="FilestorePath"/> was written by this drill's restore, which renames a file into place
    /// only once the SHA-1 of what it wrote equals the file's name.
    /// </summary>
    public bool FilestoreContentNamed { get; init; }
}

internal sealed record ProbeResult(ProbeStatus Status, string Details)
{
    public static ProbeResult Pass(string details) => new(ProbeStatus.Passed, details);

    public static ProbeResult Fail(string details) => new(ProbeStatus.Failed, details);

    public static ProbeResult Skip(string details) => new(ProbeStatus.Skipped, details);
}

/// <summary>One smoke test against a restored sandbox. A probe reports findings as a result; an exception means it could not run.</summary>
internal interface IProbe
{
    string Name { get; }

    /// <summary>A failed critical probe fails the drill: the copy cannot be trusted to bring the target back.</summary>
    bool Critical { get; }

    Task<ProbeResult> RunAsync(ProbeContext context, CancellationToken cancellationToken);
}

/// <summary>A probe bound to what it runs against: its name, whether it is critical, and the check itself.</summary>
internal sealed record ProbeStep(string Name, bool Critical, Func<CancellationToken, Task<ProbeResult>> RunAsync)
{
    public static ProbeStep Of(IProbe probe, ProbeContext context) => new(probe.Name, probe.Critical, token => probe.RunAsync(context, token));
}

/// <summary>The probes' records, and when the last critical probe passed (null when one failed or none ran).</summary>
internal sealed record ProbeRun(IReadOnlyList<ProbeRecord> Records, long? CriticalPassedAt)
{
    /// <summary>Runs as one: critical probes first; proven when the critical probes of every run passed, at the latest such moment.</summary>
    public static ProbeRun Combine(params IReadOnlyList<ProbeRun> runs)
    {
        IReadOnlyList<ProbeRecord> records = [.. runs.SelectMany(r => r.Records.Where(p => p.Critical)), .. runs.SelectMany(r => r.Records.Where(p => !p.Critical))];
        var proving = runs.Where(r => r.Records.Any(p => p.Critical)).ToList();
        long? passedAt = proving.Count == 0 || proving.Any(r => r.CriticalPassedAt is null) ? null : proving.Max(r => r.CriticalPassedAt);
        return new ProbeRun(records, passedAt);
    }
}

/// <summary>
/// Runs the probes concurrently (each on its own connections: the sandbox is ours alone), times each with the
/// <see cref="TimeProvider"/>, and reports when the last critical one finished, which ends the achieved RTO. Records
/// come back critical ones first, in the order given.
/// </summary>
internal sealed class ProbeRunner(TimeProvider time)
{
    public Task<ProbeRun> RunAsync(
        IReadOnlyList<IProbe> probes, ProbeContext context, Action<ProbeRecord>? completed, CancellationToken cancellationToken) =>
        RunAsync([.. probes.Select(p => ProbeStep.Of(p, context))], completed, cancellationToken);

    /// <summary>Runs bound probes (the drill's, or the alert canary's probe that fails on purpose).</summary>
    public async Task<ProbeRun> RunAsync(IReadOnlyList<ProbeStep> probes, Action<ProbeRecord>? completed, CancellationToken cancellationToken)
    {
        var ordered = probes.OrderByDescending(p => p.Critical).ToList();
        var report = new object();
        var runs = ordered.Select(async probe =>
        {
            await Task.Yield();
            var started = time.GetTimestamp();
            ProbeResult result;
            try
            {
                result = await probe.RunAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Probe boundary: a probe that cannot run (a query error, a refused connection, a timeout) has failed,
                // with the reason in its record; the other probes go on.
                result = ProbeResult.Fail($"could not run: {e.Message}");
            }

            var finished = time.GetTimestamp();
            var record = new ProbeRecord(probe.Name, probe.Critical, result.Status, Math.Round(time.GetElapsedTime(started, finished).TotalSeconds, 3), result.Details);
            lock (report)
            {
                completed?.Invoke(record);
            }

            return (Record: record, Finished: finished);
        }).ToList();
        var done = await Task.WhenAll(runs);

        var critical = done.Where(d => d.Record.Critical).ToList();
        long? criticalPassedAt = critical.Count == 0 || critical.Any(d => d.Record.Status == ProbeStatus.Failed) ? null : critical.Max(d => d.Finished);
        return new ProbeRun(done.Select(d => d.Record).ToList(), criticalPassedAt);
    }
}
