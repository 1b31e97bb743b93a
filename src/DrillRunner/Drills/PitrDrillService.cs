using System.Globalization;
using System.Security.Cryptography;
using BackupDr.DrillRunner.Neutralization;
using BackupDr.DrillRunner.Probes;
using BackupDr.DrillRunner.Restore;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Postgres;
using BackupDr.Repository.Wal;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.DrillRunner.Drills;

/// <param name="RandomMoment">A random moment inside the restorable range; otherwise now minus the flush interval.</param>
/// <param name="WorkPath">Where the restored cluster lives during the drill (Sandbox:WorkPath).</param>
/// <param name="Owner">Who runs the drill, as its lease names it (a worker replica's instance id; <c>backupdr drill</c>).</param>
internal sealed record PitrDrillRequest(
    TargetOptions Target, string TierName, TierOptions Tier, bool RandomMoment, WalFetchCommand Fetch, string WorkPath, Random? Random = null,
    string Owner = "backupdr drill");

/// <summary>
/// A drill of a PITR target: restores the whole cluster to a moment through <see cref="PitrRestorer"/> (the path of
/// <c>backupdr restore --to-time</c>), neutralizes it, runs the probes that apply to a moment (ledger balance, recency,
/// neutralization, custom SQL; row fingerprints and attachments do not: a moment has no snapshot to compare with and a
/// cluster restore has no filestore), measures RTO and the achieved RPO (requested moment minus the last replayed
/// transaction), tears the cluster down, and writes the sealed drill record (schema 2) last.
/// </summary>
internal sealed partial class PitrDrillService(PitrRestorer restorer, TimeProvider time, ILogger<PitrDrillService> logger)
{
    public const string Selection = "pitr";

    public async Task<DrillRecord> RunAsync(BackupRepository repository, PitrDrillRequest request, IDrillObserver? observer, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var start = time.GetTimestamp();
        var drillId = BackupId.New(time).Value;
        var target = request.Target;
        var bases = await BaseBackups.ListAsync(repository.Store, target.Name, cancellationToken);
        var range = PitrRestorer.Range(bases, await PitrStatus.ReadAsync(repository.Store, target.Name, cancellationToken));
        var (moment, choice) = request.RandomMoment && range is { From: { } from, To: { } to } && to > from
            ? (from + ((to - from) * (request.Random ?? Random.Shared).NextDouble()), "random-in-range")
            : (startedAt - target.Pitr.FlushInterval, "now-minus-flush-interval");
        LogStarting(logger, drillId, target.Name, moment);
        if (choice != "random-in-range")
        {
            // A healthy archiver covers now minus the flush interval within about one more interval: wait that long
            // (bounded) as an operator would; an archive that still lags then fails the drill (the RPO promise is broken).
            range = await WaitForCoverageAsync(repository, target, bases, range, moment, cancellationToken);
        }

        // The lease keeps the base backup (and so the WAL from its start on) from retention on every replica until the
        // record is written. A moment that cannot be restored has no base backup to hold; the restore below says why.
        var status = await PitrStatus.ReadAsync(repository.Store, target.Name, cancellationToken);
        var leased = Restorable(target.Name, bases, status, moment, range);
        await using var lease = leased is null ? null
            : await DrillLease.OpenAsync(repository.Store, target.Name, drillId, leased.BackupId, request.Owner, time, cancellationToken);
        var phases = new PhaseClock(time, observer, start);
        var probes = new List<ProbeRecord>();
        string? error = null;
        long? criticalPassedAt = null;
        PitrRestoreResult? restored = null;
        var dataRoot = Path.Combine(Path.GetFullPath(request.WorkPath), "pitr-" + drillId);
        try
        {
            phases.Begin(DrillPhase.DatabaseRestore);
            restored = await restorer.RestoreAsync(repository, target, RecoveryTarget.ToTime(moment), dataRoot, request.Fetch, cancellationToken);
            observer?.BackupChosen(target.Name, restored.BaseBackup.BackupId);
            phases.End(DrillPhase.DatabaseRestore, string.Create(CultureInfo.InvariantCulture,
                $"base backup {restored.BaseBackup.BackupId} + {restored.Chain.SegmentsChecked} WAL segment(s) checked, replayed to {restored.ReplayedLsn} on timeline {restored.Timeline}"));
            phases.Skipped(DrillPhase.FilestoreRestore, "a point-in-time restore brings back the cluster; the filestore comes from dump backups");

            var database = new NpgsqlConnectionStringBuilder(target.ConnectionString).Database ?? "postgres";
            var connection = restored.Cluster.ConnectionString(database).ConnectionString;
            phases.Begin(DrillPhase.Neutralize);
            // A PITR drill runs no Odoo (its sandbox is a local cluster): an Odoo served by the sandbox leaves the URL marked.
            var neutralization = await Neutralizer.NeutralizeAsync(
                connection, target.Drill.Odoo is { ServedBySandbox: false } odoo ? odoo.Url : null, cancellationToken);
            phases.End(DrillPhase.Neutralize, string.Create(CultureInfo.InvariantCulture, $"{neutralization.RowsChanged} rows changed"));

            phases.Begin(DrillPhase.Probes);
            foreach (var (name, why) in NotApplicable)
            {
                var skipped = new ProbeRecord(name, false, ProbeStatus.Skipped, 0, why);
                probes.Add(skipped);
                observer?.ProbeEnded(skipped);
            }

            // The recency probe judges the newest write against the manifest's recovery point: here, the moment asked for.
            var context = new ProbeContext(connection, database, restored.BaseBackup with { RecoveryPoint = moment },
                new DatabaseEvidenceRecord(null, [], [], []), null, "a point-in-time restore has no filestore", target);
            IProbe[] applicable = [new LedgerProbe(compareTotals: false), new NeutralizationProbe(), new RecencyProbe(), .. target.Drill.Probes.Select(p => new SqlProbe(p))];
            var run = await new ProbeRunner(time).RunAsync(applicable, context, observer is null ? null : observer.ProbeEnded, cancellationToken);
            probes.AddRange(run.Records);
            criticalPassedAt = run.CriticalPassedAt;
            phases.End(DrillPhase.Probes, $"{run.Records.Count(p => p.Status == ProbeStatus.Passed)} of {run.Records.Count} probes passed");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            // Drill boundary: an archive hole, a moment outside the range or a recovery that failed is the finding.
            error = e.Message;
            phases.Fail(e.Message);
            LogFailed(logger, e, drillId, target.Name);
        }
        finally
        {
            if (restored is not null)
            {
                await restored.Cluster.DestroyAsync(CancellationToken.None, immediate: true);
            }
            else if (Directory.Exists(dataRoot))
            {
                Directory.Delete(dataRoot, recursive: true);
            }
        }

        var baseBackup = restored?.BaseBackup ?? bases.LastOrDefault(b => b.RecoveryPoint <= moment) ?? (bases.Count > 0 ? bases[^1] : null);
        TimeSpan? recovered = criticalPassedAt is { } at && error is null ? time.GetElapsedTime(start, at) : null;
        var rto = new ObjectiveRecord(recovered is { } r ? Math.Round(r.TotalSeconds, 3) : null, request.Tier.Rto.TotalSeconds, recovered <= request.Tier.Rto,
            recovered is null ? "not achieved: the copy was not proven (see reasons)" : null);
        var replayed = restored?.LastReplayedTransaction;
        TimeSpan? rpoAchieved = restored is null ? null : moment - (replayed ?? restored.BaseBackup.RecoveryPoint);
        var rpo = new ObjectiveRecord(rpoAchieved is { } loss ? Math.Round(loss.TotalSeconds, 3) : null, request.Tier.Rpo.TotalSeconds,
            rpoAchieved is { } achieved ? achieved <= request.Tier.Rpo : false,
            restored is null ? "not achieved: the moment could not be restored (see error)"
            : replayed is null ? "no transaction was replayed after the base backup: measured from the base backup's consistent point" : null);
        var (outcome, reasons) = DrillVerdict.Decide(error, probes, rto, rpo);
        var record = new DrillRecord
        {
            SchemaVersion = DrillRecord.PitrSchemaVersion,
            DrillId = drillId,
            Target = target.Name,
            Tenant = target.Tenant,
            Environment = target.Environment,
            Tier = request.TierName,
            BackupId = baseBackup?.BackupId ?? "",
            ManifestSha256 = baseBackup is null ? "" : await ManifestSha256Async(repository, baseBackup, cancellationToken),
            RecoveryPoint = moment,
            Selection = Selection,
            SelectionReason = $"{choice}: restore to {moment.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} (restorable {range})",
            StartedAt = startedAt,
            CompletedAt = time.GetUtcNow(),
            Outcome = outcome,
            Reasons = reasons,
            Error = error,
            Phases = phases.Records,
            Probes = probes,
            Rto = rto,
            Rpo = rpo,
            Sandbox = new SandboxRecord("local-pitr", "pitr-" + drillId, restored?.BaseBackup.Source.ServerVersion ?? ""),
            Tools = new DrillTools(DrillService.ProductVersion, baseBackup?.Tools.PgDump ?? ""),
            Host = Environment.MachineName,
            Pitr = new DrillPitrRecord(moment, choice, replayed, restored?.ReplayedLsn ?? "", restored?.Timeline ?? 0, range.From, range.To,
                restored?.Chain.SegmentsChecked ?? 0),
        };
        await DrillService.CommitAsync(repository, record, time, cancellationToken);
        LogFinished(logger, drillId, target.Name, outcome, rto.AchievedSeconds, rpo.AchievedSeconds);
        return DrillRecords.Seal(record, repository.MasterKey);
    }

    private static readonly (string Name, string Why)[] NotApplicable =
    [
        ("fingerprints", "does not apply to a moment: there is no snapshot whose row fingerprints the copy must equal"),
        ("attachments", "does not apply: a point-in-time restore brings back the cluster, not the filestore"),
    ];

    private static BackupManifest? Restorable(string target, IReadOnlyList<BackupManifest> bases, PitrStatus? status, DateTimeOffset moment, RestorableRange range)
    {
        try
        {
            return PitrRestorer.Choose(target, bases, status, RecoveryTarget.ToTime(moment), range);
        }
        catch (RestoreRefusedException)
        {
            // Not restorable: the restore raises the same refusal inside the drill, where it becomes the drill's finding.
            return null;
        }
    }

    private async Task<RestorableRange> WaitForCoverageAsync(
        BackupRepository repository, TargetOptions target, IReadOnlyList<BackupManifest> bases, RestorableRange range, DateTimeOffset moment, CancellationToken cancellationToken)
    {
        var waited = time.GetTimestamp();
        var limit = (target.Pitr.FlushInterval * 2) + TimeSpan.FromSeconds(30);
        while ((range.To is null || range.To < moment) && time.GetElapsedTime(waited) < limit)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), time, cancellationToken);
            range = PitrRestorer.Range(bases, await PitrStatus.ReadAsync(repository.Store, target.Name, cancellationToken));
        }

        return range;
    }

    private static async Task<string> ManifestSha256Async(BackupRepository repository, BackupManifest manifest, CancellationToken cancellationToken)
    {
        await using var stream = await repository.Store.OpenReadAsync(BaseBackups.Manifest(manifest.Target, BackupId.Parse(manifest.BackupId)), cancellationToken);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PITR drill {DrillId} of {Target} started: restoring to {Moment:O}")]
    private static partial void LogStarting(ILogger logger, string drillId, string target, DateTimeOffset moment);

    [LoggerMessage(Level = LogLevel.Error, Message = "PITR drill {DrillId} of {Target} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string drillId, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "PITR drill {DrillId} of {Target}: {Outcome}, RTO {RtoSeconds} s, RPO {RpoSeconds} s")]
    private static partial void LogFinished(ILogger logger, string drillId, string target, DrillOutcome outcome, double? rtoSeconds, double? rpoSeconds);
}
