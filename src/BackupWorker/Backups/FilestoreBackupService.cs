using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Filestore;
using BackupDr.Repository.Integrity;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Backups;

/// <summary>
/// The filestore phase of a backup: finds what the repository already holds for the target (the newest backup's
/// index, plus tables of contents of packs it does not name), then backs up the store_fname list read in the
/// backup's snapshot (<see cref="FilestoreBackup"/>). The caller writes the index object and the manifest.
/// </summary>
internal sealed partial class FilestoreBackupService(FilestoreOptions options, TimeProvider time, ILogger<FilestoreBackupService> logger)
{
    public async Task<FilestoreBackupResult> BackupAsync(
        BackupRepository repository,
        TargetOptions target,
        string backupId,
        IReadOnlyList<string> storeFnames,
        IProgress<long>? progress,
        CancellationToken cancellationToken)
    {
        using var keys = FilestoreKeys.Derive(repository.MasterKey, target.Name);
        var started = time.GetTimestamp();
        var latest = await ReadLatestIndexAsync(repository, target.Name, cancellationToken);
        var indexRead = time.GetElapsedTime(started);
        var known = await KnownBlobs.LoadAsync(repository.Store, keys, target.Name, latest, options.DownloadParallelism, cancellationToken);
        var knownFound = time.GetElapsedTime(started);
        LogKnown(logger, target.Name, known.Count, known.TablesRead, indexRead, knownFound);
        foreach (var skipped in known.Skipped)
        {
            LogPackSkipped(logger, target.Name, skipped.PackId, skipped.Reason);
        }

        var engine = new FilestoreBackup(repository.Store, keys, target.Name, options, time);
        var engineStarted = time.GetTimestamp();
        var result = await engine.RunAsync(
            backupId, target.FilestorePath, storeFnames, target.IncludeUnreferencedFiles, known, progress, cancellationToken);
        var engineElapsed = time.GetElapsedTime(engineStarted);
        LogEngine(logger, target.Name, engineElapsed);
        foreach (var problem in result.Index.Problems)
        {
            LogSourceProblem(logger, target.Name, backupId, problem.Kind, problem.Name, problem.Detail);
        }

        var stats = result.Stats;
        LogDone(logger, target.Name, backupId, stats.Files, stats.FilesRead, stats.BytesRead, stats.PacksWritten, stats.UploadedBytes, known.Count);
        return result;
    }

    /// <summary>The manifest's summary of a filestore backup.</summary>
    public static ManifestFilestore Summarize(FilestoreBackupResult result, bool unreferencedIncluded)
    {
        var stats = result.Stats;
        var problems = result.Index.Problems;
        long Count(FileProblemKind kind) => problems.Count(p => p.Kind == kind);
        return new ManifestFilestore(
            stats.Files, stats.Bytes, stats.FilesRead, stats.BytesRead, stats.PacksWritten, stats.UploadedBytes, stats.Packs, stats.StoredBytes,
            Count(FileProblemKind.Missing), Count(FileProblemKind.ContentMismatch), Count(FileProblemKind.Unreadable), Count(FileProblemKind.UnsupportedName),
            result.Index.UnreferencedFiles, result.Index.UnreferencedBytes, unreferencedIncluded);
    }

    /// <summary>The warnings a filestore backup adds to the manifest (no file names: they are SHA-1s).</summary>
    public static IEnumerable<string> Warnings(ManifestFilestore summary)
    {
        if (summary.Missing > 0)
        {
            yield return $"filestore: {summary.Missing} file(s) referenced by ir_attachment are missing on disk (source damage; names in the filestore index and the backup's output)";
        }

        if (summary.ContentMismatch > 0)
        {
            yield return $"filestore: {summary.ContentMismatch} file(s) do not match their SHA-1 name (altered or damaged at the source; not backed up)";
        }

        if (summary.Unreadable > 0)
        {
            yield return $"filestore: {summary.Unreadable} file(s) could not be read (not backed up)";
        }

        if (summary.UnsupportedName > 0)
        {
            yield return $"filestore: {summary.UnsupportedName} store_fname value(s) are not Odoo's <sha1[0:2]>/<sha1> names (not backed up)";
        }
    }

    /// <summary>
    /// The newest committed index of the target, or null. A damaged index is not fatal here: every table of contents
    /// is then read instead, and <c>verify</c> reports the damaged backup.
    /// </summary>
    private async Task<FilestoreIndex?> ReadLatestIndexAsync(BackupRepository repository, string target, CancellationToken cancellationToken)
    {
        BackupManifest? latest = null;
        try
        {
            latest = await BackupCatalog.FindNewestAsync(repository.Store, target, m => m.Filestore is not null, cancellationToken);
            if (latest is null)
            {
                return null;
            }

            using var dataKey = BackupCatalog.OpenDataKey(repository.MasterKey, latest);
            return await FilestoreObjects.ReadIndexAsync(repository.Store, latest, dataKey, cancellationToken);
        }
        catch (Exception e) when (e is CorruptObjectException or Repository.Storage.ObjectNotFoundException)
        {
            LogLatestIndexUnusable(logger, target, latest?.BackupId ?? "(newest manifest)", e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug,
        Message = "Filestore of {Target}: {Known} blobs already stored ({TablesRead} tables of contents read); latest index read in {IndexRead}, all in {KnownFound}")]
    private static partial void LogKnown(ILogger logger, string target, int known, int tablesRead, TimeSpan indexRead, TimeSpan knownFound);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Filestore of {Target}: source listed, new contents read and packed in {Elapsed}")]
    private static partial void LogEngine(ILogger logger, string target, TimeSpan elapsed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Filestore of {Target}: pack {PackId} is not reused: {Reason}")]
    private static partial void LogPackSkipped(ILogger logger, string target, string packId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Filestore of {Target} {BackupId}: {Kind} {File}: {Detail}")]
    private static partial void LogSourceProblem(ILogger logger, string target, string backupId, FileProblemKind kind, string file, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Filestore of {Target}: the index of {BackupId} is unusable ({Error}); reading every pack's table of contents instead")]
    private static partial void LogLatestIndexUnusable(ILogger logger, string target, string backupId, string error);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Filestore of {Target} {BackupId}: {Files} files, {FilesRead} new read ({BytesRead} bytes), {Packs} pack(s) uploaded ({UploadedBytes} bytes); {Known} blobs were already stored")]
    private static partial void LogDone(ILogger logger, string target, string backupId, long files, long filesRead, long bytesRead, int packs, long uploadedBytes, int known);
}
