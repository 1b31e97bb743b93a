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
/// <param name="NeutralizationBaseline">Fingerprints of the tables neutralization changed, taken just before it changed them.</param>
internal sealed record ProbeContext(
    string ConnectionString,
    string Database,
    BackupManifest Manifest,
    DatabaseEvidenceRecord Evidence,
    string? FilestorePath,
    string? FilestoreSkipReason,
    TargetOptions Target,
    IReadOnlyList<DumpedTable> NeutralizationBaseline);

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

/// <summary>The probes' records, and when the last critical probe passed (null when one failed or none ran).</summary>
internal sealed record ProbeRun(IReadOnlyList<ProbeRecord> Records, long? CriticalPassedAt);

/// <summary>
/// Runs probes one after another, critical ones first (so the achieved RTO stops when they pass, not after the
/// non-critical ones), timing each with the <see cref="TimeProvider"/>.
/// </summary>
internal sealed class ProbeRunner(TimeProvider time)
{
    public async Task<ProbeRun> RunAsync(
        IReadOnlyList<IProbe> probes, ProbeContext context, Action<ProbeRecord>? completed, CancellationToken cancellationToken)
    {
        var records = new List<ProbeRecord>();
        long? criticalPassedAt = null;
        var criticalFailed = false;
        foreach (var probe in probes.OrderByDescending(p => p.Critical))
        {
            var started = time.GetTimestamp();
            ProbeResult result;
            try
            {
                result = await probe.RunAsync(context, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Probe boundary: a probe that cannot run (a query error, a refused connection, a timeout) has failed,
                // with the reason in its record; the drill goes on with the other probes.
                result = ProbeResult.Fail($"could not run: {e.Message}");
            }

            var record = new ProbeRecord(probe.Name, probe.Critical, result.Status, Math.Round(time.GetElapsedTime(started).TotalSeconds, 3), result.Details);
            records.Add(record);
            completed?.Invoke(record);
            if (probe.Critical)
            {
                criticalFailed |= result.Status == ProbeStatus.Failed;
                criticalPassedAt = time.GetTimestamp();
            }
        }

        return new ProbeRun(records, criticalFailed ? null : criticalPassedAt);
    }
}
