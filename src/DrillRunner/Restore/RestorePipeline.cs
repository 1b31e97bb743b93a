using BackupDr.DrillRunner.Neutralization;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Postgres;

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
/// <param name="Evidence">The backup's table evidence, for the neutralization baseline (drills); empty otherwise.</param>
internal sealed record RestoreRequest(
    BackupManifest Manifest, RestoreInto Into, DatabaseRestoreOptions Database, string? FilestoreInto, bool Neutralize,
    string? BaseUrl = null, IReadOnlyList<DumpedTable>? Evidence = null);

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
/// code an engineer will run: database (download, verify, decrypt, <c>pg_restore -j</c>, optional evidence check),
/// then the filestore when the backup has one, then neutralization when asked. A backup that references a filestore
/// this build cannot restore fails loudly rather than passing as a database-only restore.
/// </summary>
internal sealed class RestorePipeline(DatabaseRestorer database, IFilestoreRestore? filestore, TimeProvider time)
{
    /// <summary>The logical name of the filestore index object in a manifest (issue [3]).</summary>
    public const string FilestoreIndexObjectName = "filestore.index";

    public static bool HasFilestore(BackupManifest manifest) => manifest.Objects.Any(o => o.Name == FilestoreIndexObjectName);

    /// <param name="progress">Phase and byte counts as the work goes (<see cref="RestorePhase"/>).</param>
    public async Task<RestorePipelineResult> RunAsync(
        BackupRepository repository, RestoreRequest request, IProgress<RestoreProgress>? progress, CancellationToken cancellationToken)
    {
        // A database that does not match its evidence is still completed and neutralized: the caller reports the
        // mismatch, and a copy left behind must never be a live one.
        var restored = await database.RestoreAsync(repository, request.Manifest, request.Into, request.Database, progress, cancellationToken);

        var clock = time.GetTimestamp();
        FilestoreRestoreResult? files = null;
        SkippedStep? skipped = null;
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
            var step = filestore ?? throw new InvalidOperationException(
                $"backup {request.Manifest.BackupId} has a filestore, but this build of backupdr cannot restore filestores; nothing about the filestore is proven.");
            progress?.Report(new RestoreProgress(RestorePhase.Filestore, 0, 0));
            files = await step.RestoreAsync(repository, request.Manifest, request.FilestoreInto, progress, cancellationToken);
        }

        var filestoreElapsed = time.GetElapsedTime(clock);
        clock = time.GetTimestamp();
        NeutralizationResult? neutralization = null;
        if (request.Neutralize)
        {
            progress?.Report(new RestoreProgress(RestorePhase.Neutralize, 0, 0));
            neutralization = await Neutralizer.NeutralizeAsync(restored.ConnectionString, request.BaseUrl, request.Evidence ?? [], cancellationToken);
        }

        return new RestorePipelineResult(restored, files, skipped, filestoreElapsed, neutralization, time.GetElapsedTime(clock));
    }
}
