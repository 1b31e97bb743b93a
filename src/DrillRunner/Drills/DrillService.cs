using System.Globalization;
using System.Reflection;
using BackupDr.DrillRunner.Probes;
using BackupDr.DrillRunner.Restore;
using BackupDr.DrillRunner.Sandboxes;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Postgres;
using Microsoft.Extensions.Logging;

namespace BackupDr.DrillRunner.Drills;

/// <summary>A drill to run: the target, its tier, and which backup (<c>latest</c>, <c>sample</c> or a backup id).</summary>
/// <param name="Random">The draw for <c>sample</c>; null uses <see cref="Random.Shared"/>.</param>
/// <param name="Owner">Who runs the drill, as its lease names it (a worker replica's instance id; <c>backupdr drill</c>).</param>
internal sealed record DrillRequest(
    TargetOptions Target, string TierName, TierOptions Tier, string BackupReference, Random? Random = null, string Owner = "backupdr drill");

/// <summary>The chosen backup was deleted (by a prune that had not seen the drill's lease yet) before the drill announced itself.</summary>
internal sealed class DrillBackupGoneException(string message) : Exception(message);

/// <summary>Follows a drill as it runs (the terminal display, the worker's logs, tests).</summary>
internal interface IDrillObserver
{
    /// <summary>The backup the drill restores, chosen before anything else runs (retention must keep it meanwhile).</summary>
    void BackupChosen(string target, string backupId)
    {
    }

    void PhaseStarted(DrillPhase phase);

    void PhaseEnded(DrillPhaseRecord phase);

    void ProbeEnded(ProbeRecord probe);

    /// <summary>
    /// The database is restored in the sandbox (pg_restore has ended, nothing is neutralized yet; the filestore may still
    /// be restoring); the probes of table data start when this returns.
    /// </summary>
    Task DataRestoredAsync(ISandbox sandbox, string database, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The sandbox holds the restored, neutralized copy (and its Odoo server, when the sandbox runs one); the probes of
    /// the copy start when this returns.
    /// </summary>
    Task SandboxReadyAsync(ISandbox sandbox, string database, CancellationToken cancellationToken);
}

/// <summary>
/// Runs one drill: chooses the backup, provisions a sandbox of the backup's PostgreSQL major, restores through the
/// shared <see cref="RestorePipeline"/> (the path of <c>backupdr restore</c>), neutralizes, runs the probes, measures
/// achieved RTO and RPO against the tier, tears the sandbox down (always), and writes the sealed drill record last.
/// A drill that fails is recorded as Failed with its error; a cancelled drill writes no record.
/// </summary>
/// <remarks>The source database is never contacted: everything comes from the repository and the manifest.</remarks>
internal sealed partial class DrillService(
    ISandboxProvider sandboxes, RestorePipeline pipeline, HttpClient http, TimeProvider time, ILogger<DrillService> logger)
{
    public static string ProductVersion { get; } =
        typeof(DrillService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    public async Task<DrillRecord> RunAsync(BackupRepository repository, DrillRequest request, IDrillObserver? observer, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var start = time.GetTimestamp();
        var drillId = BackupId.New(time).Value;
        var target = request.Target;

        // Every log event of this drill carries its id, and its backup's once chosen (the worker's job scope adds the target).
        using var drillScope = logger.BeginScope(new Dictionary<string, object> { ["DrillId"] = drillId });
        var backups = await BackupCatalog.ListAsync(repository.Store, target.Name, cancellationToken);
        var (manifest, selection, reason) = await SelectAsync(repository, request, backups, startedAt, cancellationToken);
        var manifestSha256 = await BackupCatalog.ManifestSha256Async(repository.Store, manifest, cancellationToken);
        var major = manifest.Source.ServerVersionNum / 10000;
        using var backupScope = logger.BeginScope(new Dictionary<string, object> { ["BackupId"] = manifest.BackupId });
        LogStarting(logger, drillId, target.Name, manifest.BackupId, reason);
        observer?.BackupChosen(target.Name, manifest.BackupId);

        // The lease tells retention everywhere (other replicas, a prune run by hand) that this backup is being restored;
        // it is deleted when this method ends, after the record. A prune that listed the leases before this one existed
        // may have deleted the backup meanwhile: the manifest is looked at again once the lease is visible.
        await using var lease = await DrillLease.OpenAsync(repository.Store, target.Name, drillId, manifest.BackupId, request.Owner, time, cancellationToken);
        if (await repository.Store.StatAsync(RepositoryLayout.Manifest(target.Name, BackupId.Parse(manifest.BackupId)), cancellationToken) is null)
        {
            throw new DrillBackupGoneException(
                $"backup {target.Name}/{manifest.BackupId} was deleted by retention as drill {drillId} started; nothing was restored; run the drill again");
        }

        var phases = new PhaseClock(time, observer, start);
        var probes = new List<ProbeRecord>();
        string? error = null;
        long? criticalPassedAt = null;
        var pgRestoreVersion = "";
        ISandbox? sandbox = null;
        Task? starting = null;
        Task<ProbeRun>? dataProbes = null;
        Task<ProbeRun>? fingerprints = null;
        Task<ProbeRun>? attachments = null;
        using var stopProbes = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        string? cleanupError = null;
        try
        {
            // Provision: the sandbox's folders now, its server in the background while the dump downloads.
            observer?.PhaseStarted(DrillPhase.Provision);
            var provisionStarted = time.GetTimestamp();
            var odoo = target.Drill.Odoo;
            sandbox = await sandboxes.ProvisionAsync(
                new SandboxRequest(drillId, target.Name, major) { Tenant = target.Tenant, Limits = request.Tier.Sandbox, RunsOdoo = odoo is { ServedBySandbox: true }, OdooVersion = manifest.Source.OdooVersion },
                cancellationToken);
            starting = StartAsync(sandbox, phases, provisionStarted, cancellationToken);
            pgRestoreVersion = await PgRestore.VersionAsync(major, cancellationToken);

            var database = manifest.Source.Database;
            var jobs = DatabaseRestoreOptions.DefaultJobs;
            phases.Begin(DrillPhase.Download);
            using var dataKey = BackupCatalog.OpenDataKey(repository.MasterKey, manifest);
            var evidence = await BackupEvidence.ReadAsync(repository.Store, manifest, dataKey, cancellationToken);
            var ready = sandbox;
            var into = new RestoreInto(async _ =>
            {
                await starting;
                return ready.ConnectionString(database);
            }, DownloadWhileStarting: true);

            // pg_restore -j has every core, as the runbook's would: the filestore restores on the cores it leaves idle,
            // then beside the probes of table data; the other probes run once the copy is whole and neutralized.
            var runner = new ProbeRunner(time);
            Action<ProbeRecord>? probeEnded = observer is null ? null : observer.ProbeEnded;
            ProbeContext? dataContext = null;
            async Task StartDataProbesAsync(Task<FilestoreRestoreResult?> filestore, CancellationToken token)
            {
                dataContext = new ProbeContext(ready.ConnectionString(database), database, manifest, evidence, null,
                    "read by the probes of the copy", target);
                await (observer?.DataRestoredAsync(ready, database, token) ?? Task.CompletedTask);
                phases.Begin(DrillPhase.Probes);
                dataProbes = runner.RunAsync(DrillProbes.OfTableData(), dataContext, probeEnded, stopProbes.Token);
                fingerprints = runner.RunAsync(DrillProbes.BeforeNeutralization(), dataContext, probeEnded, stopProbes.Token);
                attachments = RunAttachmentsAsync(filestore, dataContext);

                // Neutralization, which changes settings tables, waits for the fingerprints of the copy as restored.
                await fingerprints.WaitAsync(token);
            }

            async Task<ProbeRun> RunAttachmentsAsync(Task<FilestoreRestoreResult?> filestore, ProbeContext context)
            {
                var files = await filestore.WaitAsync(stopProbes.Token);
                return await runner.RunAsync(DrillProbes.OfFilestore(), context with
                {
                    FilestorePath = files is null ? null : ready.FilestorePath,
                    FilestoreSkipReason = files is null ? "backup has no filestore" : null,
                    FilestoreContentNamed = files is not null,
                }, probeEnded, stopProbes.Token);
            }

            var restored = await pipeline.RunAsync(
                repository,
                new RestoreRequest(manifest, into, new DatabaseRestoreOptions(false, jobs, sandbox.StagingPath, Check: false),
                    sandbox.FilestorePath, Neutralize: true, odoo is { ServedBySandbox: false } ? odoo.Url : sandbox.OdooBaseUrl,
                    DatabaseRestored: StartDataProbesAsync, FilestoreOnIdleCores: true),
                new PhaseProgress(phases, manifest, jobs),
                cancellationToken);
            phases.End(DrillPhase.Neutralize, string.Create(CultureInfo.InvariantCulture,
                $"{restored.Neutralization!.RowsChanged} rows changed in {restored.Neutralization.Steps.Count(s => s.NotApplicable is null)} steps"));
            if (restored.FilestoreSkipped is { } skipped)
            {
                phases.Skipped(DrillPhase.FilestoreRestore, skipped.Reason);
            }
            else if (restored.Filestore is { } files)
            {
                phases.End(DrillPhase.FilestoreRestore, string.Create(CultureInfo.InvariantCulture,
                    $"{files.Files:N0} files, {files.Bytes:N0} bytes from {files.Packs:N0} packs"), Math.Round(restored.FilestoreElapsed.TotalSeconds, 3));
            }

            if (odoo is { ServedBySandbox: true })
            {
                // The sandbox's own Odoo server, on the neutralized copy: the Odoo probes reach it through the sandbox.
                phases.Begin(DrillPhase.OdooStart);
                var served = await sandbox.StartOdooAsync(database, cancellationToken);
                phases.End(DrillPhase.OdooStart, served.Detail);
                odoo = odoo with { Url = served.Url.ToString(), Database = database };
            }

            await (observer?.SandboxReadyAsync(sandbox, database, cancellationToken) ?? Task.CompletedTask);
            var context = dataContext! with
            {
                FilestorePath = restored.Filestore is null ? null : sandbox.FilestorePath,
                FilestoreSkipReason = restored.FilestoreSkipped?.Reason,
            };
            var copyRun = await runner.RunAsync(DrillProbes.OfCopy(target, odoo, http), context, probeEnded, stopProbes.Token);
            var run = ProbeRun.Combine(await fingerprints!, await dataProbes!, await attachments!, copyRun);
            probes.AddRange(run.Records);
            criticalPassedAt = run.CriticalPassedAt;
            phases.End(DrillPhase.Probes, $"{run.Records.Count(p => p.Status == ProbeStatus.Passed)} of {run.Records.Count} probes passed");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogCancelled(logger, drillId, target.Name);
            throw;
        }
        catch (Exception e)
        {
            // Drill boundary: whatever stopped the restore (damaged backup, missing binaries, a failed pg_restore) is
            // the drill's finding, recorded as Failed with its message, never a green run.
            error = e.Message;
            if (sandbox is null || starting is { IsFaulted: true })
            {
                phases.Failed(DrillPhase.Provision, e.Message);
            }
            else
            {
                phases.Fail(e.Message, RestorePipeline.FailedStep(e) == RestorePhase.Filestore
                    ? DrillPhase.FilestoreRestore
                    : new[] { DrillPhase.Download, DrillPhase.DatabaseRestore, DrillPhase.Neutralize, DrillPhase.OdooStart }.FirstOrDefault(phases.IsOpen, DrillPhase.Probes));
            }

            LogFailed(logger, e, drillId, target.Name, manifest.BackupId);
        }
        finally
        {
            Task?[] early = [dataProbes, fingerprints, attachments];
            if (early.Any(t => t is { IsCompleted: false }))
            {
                // The restore failed under the probes of table data: they end before the sandbox goes.
                await stopProbes.CancelAsync();
                await Task.WhenAll(early.OfType<Task>()).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (sandbox is not null)
            {
                cleanupError = await TeardownAsync(sandbox, drillId, target.Name);
            }

            if (starting is not null)
            {
                // Observed here: its failure, if any, is already the drill's error or was caused by the teardown.
                await starting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        var sandboxRecord = new SandboxRecord(sandbox?.Kind ?? sandboxes.Kind, sandbox?.Id ?? "", sandbox?.ServerVersion ?? "")
        {
            Diagnostics = sandbox is { Diagnostics.Count: > 0 } ? sandbox.Diagnostics : null,
            CleanupError = cleanupError,
        };

        var isNewest = backups.Count > 0 && backups[0].BackupId == manifest.BackupId;
        // Achieved RTO: from drill start until every critical probe passed; not achieved when the copy was not proven.
        TimeSpan? recovered = criticalPassedAt is { } at && error is null ? time.GetElapsedTime(start, at) : null;
        var rto = new ObjectiveRecord(
            recovered is { } r ? Math.Round(r.TotalSeconds, 3) : null,
            request.Tier.Rto.TotalSeconds,
            recovered <= request.Tier.Rto,
            recovered is null ? "not achieved: the copy was not proven (see reasons)" : null);
        var rpoAchieved = startedAt - manifest.RecoveryPoint;
        var rpo = new ObjectiveRecord(Math.Round(rpoAchieved.TotalSeconds, 3), request.Tier.Rpo.TotalSeconds,
            isNewest ? rpoAchieved <= request.Tier.Rpo : null,
            isNewest ? null : $"backup {manifest.BackupId} is not the newest ({selection}): its age is not the data-loss window, so the target is not judged");
        var (outcome, reasons) = DrillVerdict.Decide(error, probes, rto, rpo);
        var record = new DrillRecord
        {
            DrillId = drillId,
            Target = target.Name,
            Tenant = target.Tenant,
            Environment = target.Environment,
            Tier = request.TierName,
            BackupId = manifest.BackupId,
            ManifestSha256 = manifestSha256,
            RecoveryPoint = manifest.RecoveryPoint,
            Selection = selection,
            SelectionReason = reason,
            StartedAt = startedAt,
            CompletedAt = time.GetUtcNow(),
            Outcome = outcome,
            Reasons = reasons,
            Error = error,
            Phases = phases.Records,
            Probes = probes,
            Rto = rto,
            Rpo = rpo,
            Sandbox = sandboxRecord,
            Tools = new DrillTools(ProductVersion, pgRestoreVersion),
            Host = Environment.MachineName,
        };
        await CommitAsync(repository, record, time, cancellationToken);
        LogFinished(logger, drillId, target.Name, manifest.BackupId, outcome, rto.AchievedSeconds, rpo.AchievedSeconds);
        return DrillRecords.Seal(record, repository.MasterKey);
    }

    /// <summary>
    /// Writes the sealed record (create-only), then its DrillRecorded audit entry. The record is committed first: a
    /// failure of the audit append says so, and 'audit verify' shows the gap.
    /// </summary>
    internal static async Task CommitAsync(BackupRepository repository, DrillRecord record, TimeProvider time, CancellationToken cancellationToken)
    {
        var key = await DrillRecords.WriteAsync(repository.Store, repository.MasterKey, record, cancellationToken);
        using var trail = new AuditTrail(repository.Store, repository.MasterKey, time);
        await trail.AppendAsync(
            new AuditEntry(AuditEventKind.DrillRecorded, record.Target, record.DrillId, new Dictionary<string, string>
            {
                ["record"] = key.Value,
                ["backupId"] = record.BackupId,
                ["outcome"] = record.Outcome.ToString(),
            }),
            cancellationToken);
    }

    /// <summary>Starts the sandbox's server and records the Provision phase (from the folders to a server that answers).</summary>
    private static async Task StartAsync(ISandbox sandbox, PhaseClock phases, long provisionStarted, CancellationToken cancellationToken)
    {
        await sandbox.StartAsync(cancellationToken);
        phases.Completed(DrillPhase.Provision, provisionStarted,
            $"PostgreSQL {sandbox.ServerVersion} {sandbox.Placement}; archiving and replication off; started while the dump downloaded");
    }

    /// <summary>
    /// Tears the sandbox down, always, with no token (the drill's may be cancelled already; the sandbox bounds its own
    /// teardown). A sandbox that could not be removed does not change what the drill proved: its error goes into the
    /// record, from which the sandbox cleanup alert fires, and the kind's janitor retries.
    /// </summary>
    private async Task<string?> TeardownAsync(ISandbox sandbox, string drillId, string target)
    {
        try
        {
            await sandbox.TeardownAsync(CancellationToken.None);
            return null;
        }
        catch (Exception e)
        {
            // Teardown boundary: whatever kept the sandbox alive is reported (record, log, alert), never swallowed and
            // never allowed to hide the drill's own result.
            LogCleanupFailed(logger, e, drillId, target, sandbox.Id);
            return $"sandbox {sandbox.Id}: {e.Message}";
        }
    }

    private static async Task<(BackupManifest Manifest, string Selection, string Reason)> SelectAsync(
        BackupRepository repository, DrillRequest request, IReadOnlyList<BackupManifest> backups, DateTimeOffset now, CancellationToken cancellationToken)
    {
        switch (request.BackupReference)
        {
            case "sample":
                var drills = await DrillRecords.ListAsync(repository.Store, request.Target.Name, repository.MasterKey, cancellationToken);
                var sampled = BackupSampler.Choose(backups, drills.Select(d => d.Record).ToList(), now, request.Random ?? Random.Shared, request.Target.Name);
                return (sampled.Manifest, "sample", sampled.Reason);
            case "latest":
                var latest = await BackupCatalog.ResolveAsync(repository.Store, request.Target.Name, "latest", cancellationToken);
                return (latest, "latest", "latest: the newest committed backup");
            default:
                var chosen = await BackupCatalog.ResolveAsync(repository.Store, request.Target.Name, request.BackupReference, cancellationToken);
                return (chosen, "id", "id: chosen by the operator");
        }
    }

    /// <summary>Maps the restore pipeline's phase reports onto drill phases as they start and end.</summary>
    private sealed class PhaseProgress(PhaseClock phases, BackupManifest manifest, int jobs) : IProgress<RestoreProgress>
    {
        private readonly HashSet<RestorePhase> _started = [];

        public void Report(RestoreProgress value)
        {
            var database = manifest.Object(RepositoryLayout.DatabaseObjectName);
            if (value.Phase == RestorePhase.Restore && value.TotalBytes > 0 && value.Bytes == value.TotalBytes)
            {
                phases.End(DrillPhase.DatabaseRestore, string.Create(CultureInfo.InvariantCulture, $"pg_restore --jobs={jobs}"));
                return;
            }

            lock (_started)
            {
                if (!_started.Add(value.Phase))
                {
                    return;
                }
            }

            switch (value.Phase)
            {
                case RestorePhase.Restore:
                    phases.End(DrillPhase.Download, string.Create(CultureInfo.InvariantCulture,
                        $"{database.SizeBytes:N0} bytes read, SHA-256 and every segment authenticated, {database.PlainSizeBytes:N0} bytes of dump"));
                    phases.Begin(DrillPhase.DatabaseRestore);
                    break;
                case RestorePhase.Filestore:
                    phases.Begin(DrillPhase.FilestoreRestore);
                    break;
                case RestorePhase.Neutralize:
                    phases.Begin(DrillPhase.Neutralize);
                    break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Drill {DrillId} of {Target} starts with backup {BackupId} ({Reason})")]
    private static partial void LogStarting(ILogger logger, string drillId, string target, string backupId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drill {DrillId} of {Target} was cancelled; the sandbox is torn down and no record is written")]
    private static partial void LogCancelled(ILogger logger, string drillId, string target);

    [LoggerMessage(Level = LogLevel.Error, Message = "Drill {DrillId} of {Target} with backup {BackupId} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string drillId, string target, string backupId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Drill {DrillId} of {Target}: sandbox {SandboxId} could not be removed; the janitor retries")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception, string drillId, string target, string sandboxId);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Drill {DrillId} of {Target} with backup {BackupId}: {Outcome}, achieved RTO {RtoSeconds} s, RPO {RpoSeconds} s")]
    private static partial void LogFinished(ILogger logger, string drillId, string target, string backupId, DrillOutcome outcome, double? rtoSeconds, double? rpoSeconds);
}
