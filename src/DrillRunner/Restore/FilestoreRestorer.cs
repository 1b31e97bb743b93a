using System.Collections.Concurrent;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Filestore;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Progress;
using Microsoft.Extensions.Logging;

namespace BackupDr.DrillRunner.Restore;

/// <param name="Parallelism">Packs downloaded and unpacked at the same time.</param>
/// <param name="Overwrite">Restore into a folder that already holds files (files of the same name are replaced).</param>
internal sealed record FilestoreRestoreOptions(int Parallelism, bool Overwrite = false);

/// <summary>Files written and pack bytes read so far.</summary>
internal readonly record struct FilestoreRestoreProgress(long Files, long PackBytes);

/// <param name="Directory">The folder restored into (Odoo's layout: <c>&lt;dir&gt;/&lt;sha1[0:2]&gt;/&lt;sha1&gt;</c>).</param>
/// <param name="Files">Files written and checked.</param>
/// <param name="Bytes">Their total size.</param>
/// <param name="Packs">Packs read.</param>
/// <param name="PackBytes">Stored bytes of those packs.</param>
/// <param name="Damaged">Packs that were missing or damaged (their key and problem).</param>
/// <param name="Problems">Files of the backup that were not restored, with why.</param>
/// <param name="SourceProblems">Files the backup itself recorded as missing or damaged at the source: not in the backup.</param>
internal sealed record FilestoreRestoreResult(
    string Directory, long Files, long Bytes, int Packs, long PackBytes, TimeSpan Elapsed,
    IReadOnlyList<VerifiedObject> Damaged, IReadOnlyList<FileDamage> Problems, IReadOnlyList<FileProblem> SourceProblems)
{
    /// <summary>True when every file of the backup was written and matches its SHA-1.</summary>
    public bool Complete => Problems.Count == 0 && Damaged.Count == 0;
}

/// <summary>The restore folder is not usable; nothing was written.</summary>
internal sealed class FilestoreRestoreRefusedException(string message) : Exception(message);

/// <summary>
/// Restores the filestore of a backup into a folder, in Odoo's layout, for the incident runbook and the drill alike.
/// Packs are read in parallel, each once, front to back; each file is written to a temporary name beside its final
/// one, its size and SHA-1 checked, then renamed into place, so a file that exists under its name is whole. A missing
/// or damaged pack does not stop the others: the result lists every file not restored and why.
/// </summary>
internal sealed partial class FilestoreRestorer(TimeProvider time, ILogger<FilestoreRestorer> logger)
{
    public async Task<FilestoreRestoreResult> RestoreAsync(
        BackupRepository repository,
        BackupManifest manifest,
        string directory,
        FilestoreRestoreOptions options,
        IProgress<FilestoreRestoreProgress>? progress,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        if (manifest.Filestore is null)
        {
            throw new FilestoreRestoreRefusedException(
                $"backup {manifest.Target}/{manifest.BackupId} has no filestore (it was taken before filestore backups existed); restore the database only");
        }

        var root = CheckDirectory(directory, options.Overwrite);
        Directory.CreateDirectory(root);
        FilestoreIndex index;
        using (var dataKey = BackupCatalog.OpenDataKey(repository.MasterKey, manifest))
        {
            index = await FilestoreObjects.ReadIndexAsync(repository.Store, manifest, dataKey, cancellationToken)
                ?? throw new CorruptObjectException(manifest.BackupId, "the manifest describes a filestore but lists no filestore index");
        }

        LogStarting(logger, manifest.Target, manifest.BackupId, index.Files.Count, index.Packs.Count, root);
        using var keys = FilestoreKeys.Derive(repository.MasterKey, manifest.Target);
        long files = 0;
        long bytes = 0;
        long packBytes = 0;
        var folders = new ConcurrentDictionary<string, Lazy<DirectoryInfo>>(StringComparer.Ordinal);
        var packProgress = new SynchronousProgress<long>(b => progress?.Report(new FilestoreRestoreProgress(Interlocked.Read(ref files), Interlocked.Add(ref packBytes, b))));
        var report = await FilestoreVerifier.ForEachPackAsync(repository.Store, keys, index, options.Parallelism, async (file, content, token) =>
        {
            var problem = await WriteFileAsync(root, folders, file, content, token);
            if (problem is null)
            {
                Interlocked.Increment(ref files);
                Interlocked.Add(ref bytes, file.SizeBytes);
            }

            return problem;
        }, packProgress, cancellationToken);

        var damaged = report.Packs.Where(p => p.Problem is not null).ToList();
        var elapsed = time.GetElapsedTime(started);
        foreach (var pack in damaged)
        {
            LogPackDamaged(logger, manifest.Target, manifest.BackupId, pack.Key, pack.Problem!);
        }

        LogDone(logger, manifest.Target, manifest.BackupId, files, bytes, report.Files.Count, elapsed.TotalSeconds);
        return new FilestoreRestoreResult(root, files, bytes, report.Packs.Count, index.Packs.Sum(p => p.SizeBytes), elapsed, damaged, report.Files, index.Problems);
    }

    /// <summary>
    /// The full path of the restore folder; refuses a non-empty one unless <paramref name="overwrite"/>. Callers that
    /// restore the database first check the folder before, so that a refusal comes before any work.
    /// </summary>
    /// <exception cref="FilestoreRestoreRefusedException">The folder holds files and overwriting was not asked for.</exception>
    public static string CheckDirectory(string directory, bool overwrite)
    {
        var root = Path.GetFullPath(directory);
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any() && !overwrite)
        {
            throw new FilestoreRestoreRefusedException($"--filestore-into: '{root}' is not empty; give an empty or new folder (or --force to replace files of the same name)");
        }

        return root;
    }

    /// <summary>Writes one file under a temporary name, checks it, and renames it into place; returns the problem or null.</summary>
    /// <param name="folders">The folders made so far (one per SHA-1 prefix, shared by about 1/256 of the files).</param>
    private static async Task<string?> WriteFileAsync(
        string root, ConcurrentDictionary<string, Lazy<DirectoryInfo>> folders, IndexedFile file, Stream content, CancellationToken cancellationToken)
    {
        if (!SourceFiles.IsContentAddressed(file.Name))
        {
            return "its name is not <sha1[0:2]>/<sha1>; refusing to write it";
        }

        var final = Path.Combine(root, file.Name);
        _ = folders.GetOrAdd(Path.GetDirectoryName(final)!, folder => new Lazy<DirectoryInfo>(() => Directory.CreateDirectory(folder))).Value;
        var temporary = final + ".backupdr-" + Guid.NewGuid().ToString("N")[..8];
        var kept = false;
        try
        {
            string? problem;
            using (var output = File.OpenHandle(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                problem = await PackReader.CopyCheckedAsync(file, content, output, cancellationToken);
            }

            if (problem is null)
            {
                File.Move(temporary, final, overwrite: true);
                kept = true;
            }

            return problem;
        }
        finally
        {
            if (!kept)
            {
                File.Delete(temporary);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Restoring the filestore of {Target}/{BackupId}: {Files} files from {Packs} pack(s) into {Directory}")]
    private static partial void LogStarting(ILogger logger, string target, string backupId, int files, int packs, string directory);

    [LoggerMessage(Level = LogLevel.Error, Message = "Filestore of {Target}/{BackupId}: pack {Key} is damaged: {Problem}")]
    private static partial void LogPackDamaged(ILogger logger, string target, string backupId, string key, string problem);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Filestore of {Target}/{BackupId}: {Files} files ({Bytes} bytes) restored, {Failed} not restored, in {Seconds:F1} s")]
    private static partial void LogDone(ILogger logger, string target, string backupId, long files, long bytes, int failed, double seconds);
}
