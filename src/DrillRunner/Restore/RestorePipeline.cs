using BackupDr.DrillRunner.Neutralization;
using BackupDr.Repository.Backups;

namespace BackupDr.DrillRunner.Restore;

/// <summary>
/// Restores a backup's filestore into a folder (issue [3] implements it). The pipeline calls it only when the manifest
/// references a filestore index (<see cref="RestorePipeline.FilestoreIndexObjectName"/>).
/// </summary>
internal interface IFilestoreRestore
{
    Task<FilestoreRestoreResult> RestoreAsync(
        BackupRepository repository, BackupManifest manifest, string intoDirectory, IProgress<RestoreProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>What to restore and where.</summary>
/// <param name="FilestoreInto">The folder for the filestore; null restores the database only.</param>
/// <param name="Neutralize">Neutralize the restored database (always for drills; <c>--neutralize</c> for restores).</param>
/// <param name="BaseUrl">Where links in a neutralized copy point (the sandbox's Odoo), or null for a marked dead URL.</param>
/// <param name="DatabaseRestored">
/// Called once the database is restored (pg_restore has ended, the evidence is checked when asked), before
/// neutralization, with the filestore restore (null result: none restored). A drill starts its probes of table data
/// here. Awaited before neutralization: it should start its work and return, or finish what must see the copy as
/// restored.
/// </param>
/// <param name="FilestoreOnIdleCores">
/// Restore the filestore from pg_restore's start on the cores it leaves idle (<see cref="IdleCpuScheduler"/>; at normal
/// priority once the database is restored): a drill, whose database-restore phase must be pg_restore's, with every
/// core, as the runbook's would be measured. Otherwise beside it at normal priority as soon as the database target is
/// accepted (the runbook: on a host with spare cores or a slow link to the repository, the files come in meanwhile).
/// </param>
internal sealed record RestoreRequest(
    BackupManifest Manifest, RestoreInto Into, DatabaseRestoreOptions Database, string? FilestoreInto, bool Neutralize,
    string? BaseUrl = null,
    Func<Task<FilestoreRestoreResult?>, CancellationToken, Task>? DatabaseRestored = null,
    bool FilestoreOnIdleCores = false);

/// <summary>A step that did not run, and why (e.g. "backup has no filestore").</summary>
internal sealed record SkippedStep(string Reason);

internal sealed record RestorePipelineResult(
    DatabaseRestoreResult Database,
    FilestoreRestoreResult? Filestore,
    SkippedStep? FilestoreSkipped,
    TimeSpan FilestoreElapsed,
    NeutralizationResult? Neutralization,
    TimeSpan NeutralizeElapsed);

/// <summary>
/// The one restore path, shared by <c>backupdr restore</c> (the incident runbook) and drills, so a drill measures the
/// code an engineer will run: database (download, verify, decrypt, <c>pg_restore -j</c>, optional evidence check) and
/// the filestore when the backup has one (beside the database once its target is accepted, or on the cores pg_restore
/// leaves idle); then neutralization when asked. A backup that references a filestore this build cannot restore fails loudly rather than passing as a
/// database-only restore. When one of the two restores fails, the other is stopped and the first failure reported.
/// </summary>
internal sealed class RestorePipeline(DatabaseRestorer database, IFilestoreRestore? filestore, TimeProvider time)
{
    /// <summary>The logical name of the filestore index object in a manifest (issue [3]).</summary>
    public const string FilestoreIndexObjectName = "filestore.index";

    public static bool HasFilestore(BackupManifest manifest) => manifest.Objects.Any(o => o.Name == FilestoreIndexObjectName);

    /// <summary>The step of the pipeline a failure it threw came from (the database, or the filestore beside it).</summary>
    public static RestorePhase? FailedStep(Exception failure) => failure.Data[FailedStepKey] as RestorePhase?;

    private const string FailedStepKey = "BackupDr.RestorePipeline.FailedStep";

    /// <param name="progress">Phase and byte counts as the work goes (<see cref="RestorePhase"/>); the database's and the filestore's interleave.</param>
    public async Task<RestorePipelineResult> RunAsync(
        BackupRepository repository, RestoreRequest request, IProgress<RestoreProgress>? progress, CancellationToken cancellationToken)
    {
        SkippedStep? skipped = null;
        IFilestoreRestore? step = null;
        if (!HasFilestore(request.Manifest))
        {
            skipped = new SkippedStep("backup has no filestore");
        }
        else if (request.FilestoreInto is null)
        {
            skipped = new SkippedStep("no filestore folder given (--filestore-into)");
        }
        else
        {
            step = filestore ?? throw new InvalidOperationException(
                $"backup {request.Manifest.BackupId} has a filestore, but this build of backupdr cannot restore filestores; nothing about the filestore is proven.");
        }

        // A database that does not match its evidence is still completed and neutralized: the caller reports the
        // mismatch, and a copy left behind must never be a live one.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var signals = new RestoreSignals();
        var restoring = database.RestoreAsync(repository, request.Manifest, request.Into, request.Database, progress, signals, stop.Token);
        var filestoreElapsed = TimeSpan.Zero;
        var files = step is null ? Task.FromResult<FilestoreRestoreResult?>(null) : RestoreFilestoreAsync();
        var databaseRestored = request.DatabaseRestored is { } notify ? NotifyAsync() : Task.CompletedTask;
        await FirstFailureAsync([restoring, files, databaseRestored], stop, cancellationToken);
        var restored = await restoring;

        var clock = time.GetTimestamp();
        NeutralizationResult? neutralization = null;
        if (request.Neutralize)
        {
            progress?.Report(new RestoreProgress(RestorePhase.Neutralize, 0, 0));
            neutralization = await Neutralizer.NeutralizeAsync(restored.ConnectionString, request.BaseUrl, cancellationToken);
        }

        return new RestorePipelineResult(restored, await files, skipped, filestoreElapsed, neutralization, time.GetElapsedTime(clock));

        async Task<FilestoreRestoreResult?> RestoreFilestoreAsync()
        {
            await (request.FilestoreOnIdleCores ? signals.Loading : signals.TargetReady).WaitAsync(stop.Token);
            var started = time.GetTimestamp();
            progress?.Report(new RestoreProgress(RestorePhase.Filestore, 0, 0));
            IdleCpuScheduler? idle = null;
            try
            {
                Task<FilestoreRestoreResult> Restore() => step.RestoreAsync(repository, request.Manifest, request.FilestoreInto!, progress, stop.Token);
                if (request.FilestoreOnIdleCores)
                {
                    idle = new IdleCpuScheduler(Environment.ProcessorCount);
                    _ = restoring.ContinueWith(static (_, state) => ((IdleCpuScheduler)state!).Promote(), idle,
                        CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }

                var result = await (idle is null ? Restore() : idle.RunAsync(Restore, stop.Token));
                filestoreElapsed = time.GetElapsedTime(started);
                return result;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                e.Data[FailedStepKey] = RestorePhase.Filestore;
                throw;
            }
            finally
            {
                if (idle is not null)
                {
                    await idle.PromoteAsync();
                }
            }
        }

        async Task NotifyAsync()
        {
            await AfterDatabaseAsync();
            await notify(files, stop.Token);
        }

        // Work that follows the database: cancelled, not failed, when the database restore failed (that failure is the
        // one reported, and must not be taken for a failure of the step that waited for it).
        async Task AfterDatabaseAsync()
        {
            await ((Task)restoring).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!restoring.IsCompletedSuccessfully)
            {
                throw new OperationCanceledException(stop.Token);
            }
        }
    }

    /// <summary>
    /// Waits for every task; the first one to fail stops the others (through <paramref name="stop"/>) and is the one
    /// thrown, rather than the cancellations it caused.
    /// </summary>
    private static async Task FirstFailureAsync(IReadOnlyList<Task> tasks, CancellationTokenSource stop, CancellationToken cancellationToken)
    {
        var pending = tasks.ToList();
        Task? failed = null;
        while (pending.Count > 0)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            if (done.IsFaulted && failed is null)
            {
                failed = done;
                await stop.CancelAsync();
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        await (failed ?? Task.WhenAll(tasks));
    }
}
