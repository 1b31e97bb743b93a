using System.Buffers;
using System.IO.Pipelines;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Postgres;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.DrillRunner.Restore;

/// <summary>How a restore runs.</summary>
/// <param name="Force">Drop and recreate a non-empty target database.</param>
/// <param name="Jobs">Parallel pg_restore jobs.</param>
/// <param name="WorkPath">Where the decrypted dump is staged (a private folder is made inside, and deleted).</param>
/// <param name="Check">Compare the restored database with the backup's evidence afterwards.</param>
internal sealed record DatabaseRestoreOptions(bool Force, int Jobs, string WorkPath, bool Check = true)
{
    public static int DefaultJobs => Environment.ProcessorCount;
}

/// <summary>Where a restore writes: a connection string, now or once the target's server is up.</summary>
/// <param name="DownloadWhileStarting">
/// Download the dump while <see cref="ConnectionStringAsync"/> runs (a drill's sandbox starting). Otherwise the target
/// is guarded before anything is downloaded (the runbook).
/// </param>
internal sealed record RestoreInto(Func<CancellationToken, Task<string>> ConnectionStringAsync, bool DownloadWhileStarting)
{
    public static RestoreInto Ready(string connectionString) => new(_ => Task.FromResult(connectionString), DownloadWhileStarting: false);
}

internal enum RestorePhase
{
    Prepare,
    Download,
    Restore,
    Check,
    Filestore,
    Neutralize,
}

/// <summary>
/// The moment of a database restore that other work can start from: the filestore, once the target is accepted.
/// Completes once; cancelled when the restore fails before it.
/// </summary>
internal sealed class RestoreSignals
{
    private readonly TaskCompletionSource _targetReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _loading = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The target passed its guards (never the source, empty unless forced) and is ready to be written.</summary>
    public Task TargetReady => _targetReady.Task;

    /// <summary>The dump is downloaded and pg_restore starts.</summary>
    public Task Loading => _loading.Task;

    internal void SetTargetReady() => _targetReady.TrySetResult();

    internal void SetLoading() => _loading.TrySetResult();

    internal void Abandon()
    {
        _targetReady.TrySetCanceled();
        _loading.TrySetCanceled();
    }
}

/// <summary>
/// Bytes of the dump written to the staging file so far. Each phase is reported as it starts (0 bytes); the restore is
/// reported again when pg_restore has finished, with the dump's size as both figures.
/// </summary>
internal readonly record struct RestoreProgress(RestorePhase Phase, long Bytes, long TotalBytes);

/// <param name="Phases">Wall time of each phase, in order.</param>
/// <param name="Differences">Evidence mismatches; empty when the restore reproduced the backup exactly (or was not checked).</param>
/// <param name="ConnectionString">The restored database's connection string (as given, without pooling).</param>
internal sealed record DatabaseRestoreResult(
    string Database, string ConnectionString, bool Created, bool Replaced, long DumpBytes, IReadOnlyList<(RestorePhase Phase, TimeSpan Elapsed)> Phases,
    bool Checked, IReadOnlyList<string> Differences)
{
    public bool Matches => Differences.Count == 0;
}

/// <summary>
/// Restores the database of a backup: the incident runbook and the drill share this code. It checks the target
/// first (never the source, never a non-empty database unless forced), downloads the dump while authenticating
/// every segment and checking the object's SHA-256, decrypts and decompresses it into a private staging file,
/// runs <c>pg_restore -j</c>, then compares the restored database with the evidence recorded at backup time.
/// The staging file is deleted in every case.
/// </summary>
/// <remarks>
/// pg_restore needs a file for parallel jobs; a dump written to a pipe has no table offsets, which PostgreSQL 15's
/// pg_restore handles by scanning (measured in bench/backup.sh).
/// </remarks>
internal sealed partial class DatabaseRestorer(TimeProvider time, ILogger<DatabaseRestorer> logger)
{
    private const int CopyBufferBytes = 1 << 20;

    public Task<DatabaseRestoreResult> RestoreAsync(
        BackupRepository repository,
        BackupManifest manifest,
        string intoConnectionString,
        DatabaseRestoreOptions options,
        IProgress<RestoreProgress>? progress,
        CancellationToken cancellationToken) =>
        RestoreAsync(repository, manifest, RestoreInto.Ready(intoConnectionString), options, progress, signals: null, cancellationToken);

    /// <param name="signals">Completed as the restore reaches them; abandoned (cancelled) when it fails first.</param>
    public async Task<DatabaseRestoreResult> RestoreAsync(
        BackupRepository repository,
        BackupManifest manifest,
        RestoreInto into,
        DatabaseRestoreOptions options,
        IProgress<RestoreProgress>? progress,
        RestoreSignals? signals,
        CancellationToken cancellationToken)
    {
        var phases = new List<(RestorePhase, TimeSpan)>();
        var started = time.GetTimestamp();
        var clock = started;
        void EndPhase(RestorePhase phase)
        {
            phases.Add((phase, time.GetElapsedTime(clock)));
            clock = time.GetTimestamp();
        }

        using var dataKey = BackupCatalog.OpenDataKey(repository.MasterKey, manifest);
        var source = new SourceInfo(manifest.Source.ServerVersion, manifest.Source.ServerVersionNum, manifest.Source.SystemIdentifier,
            manifest.Source.Database, manifest.Source.Host, manifest.Source.Port, null);
        async Task<PreparedRestoreTarget> PrepareAsync(CancellationToken token)
        {
            var prepared = await RestoreTarget.PrepareAsync(await into.ConnectionStringAsync(token), source, options.Force, token);
            LogTarget(logger, manifest.Target, manifest.BackupId, prepared.Database, prepared.Created, prepared.Replaced);
            signals?.SetTargetReady();
            return prepared;
        }

        var database = manifest.Object(RepositoryLayout.DatabaseObjectName);
        PreparedRestoreTarget? target = null;
        DirectoryInfo? staging = null;
        try
        {
            staging = Directory.CreateDirectory(
                Path.Combine(Path.GetFullPath(options.WorkPath), $"restore-{manifest.BackupId}-{Guid.NewGuid():N}"),
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var dumpFile = Path.Combine(staging.FullName, "database.dump");
            if (into.DownloadWhileStarting)
            {
                // The target's server starts (a drill's sandbox) while the dump downloads; both must succeed.
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var downloading = DownloadAsync(repository, database, dataKey, dumpFile, progress, stop.Token);
                try
                {
                    target = await PrepareAsync(stop.Token);
                    phases.Add((RestorePhase.Prepare, time.GetElapsedTime(started)));
                }
                finally
                {
                    if (target is null)
                    {
                        // The target failed first: stop the download and wait for it, so the staging folder can go;
                        // the target's failure is the one reported.
                        await stop.CancelAsync();
                        await downloading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    }
                }

                await downloading;
                phases.Add((RestorePhase.Download, time.GetElapsedTime(started)));
                clock = time.GetTimestamp();
            }
            else
            {
                // The runbook guards the target first: a refused restore downloads nothing.
                target = await PrepareAsync(cancellationToken);
                EndPhase(RestorePhase.Prepare);
                await DownloadAsync(repository, database, dataKey, dumpFile, progress, cancellationToken);
                EndPhase(RestorePhase.Download);
            }

            progress?.Report(new RestoreProgress(RestorePhase.Restore, 0, 0));
            signals?.SetLoading();
            await PgRestore.RunAsync(target.ServerMajor, dumpFile, target.ConnectionString, options.Jobs, cancellationToken);
            EndPhase(RestorePhase.Restore);
            progress?.Report(new RestoreProgress(RestorePhase.Restore, database.PlainSizeBytes, database.PlainSizeBytes));

            IReadOnlyList<string> differences = [];
            if (options.Check)
            {
                progress?.Report(new RestoreProgress(RestorePhase.Check, 0, 0));
                var expected = await BackupEvidence.ReadAsync(repository.Store, manifest, dataKey, cancellationToken);
                await using var connection = new NpgsqlConnection(target.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                differences = BackupEvidence.Compare(expected, await DatabaseEvidence.ReadRestoredAsync(connection, target.ConnectionString, expected.Tables, cancellationToken));
                EndPhase(RestorePhase.Check);
            }

            return new DatabaseRestoreResult(target.Database, target.ConnectionString, target.Created, target.Replaced, database.PlainSizeBytes, phases, options.Check, differences);
        }
        catch (Exception e) when (target is { Created: true })
        {
            LogRestoreFailed(logger, manifest.Target, manifest.BackupId, target.Database, e.Message);
            await DropCreatedAsync(target);
            throw;
        }
        finally
        {
            signals?.Abandon();
            staging?.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Writes the dump's plaintext to the staging file and, from the same bytes as they pass, finds where its data blocks
    /// start; then writes those offsets into its table of contents (pg_dump wrote it to a pipe, where it could not), so
    /// that pg_restore's jobs seek to their tables' data.
    /// </summary>
    private async Task DownloadAsync(
        BackupRepository repository, ManifestObject entry, Repository.Crypto.DataKey dataKey, string path,
        IProgress<RestoreProgress>? progress, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        var blocks = new Pipe(new PipeOptions(pauseWriterThreshold: 4 * CopyBufferBytes, resumeWriterThreshold: 2 * CopyBufferBytes));
        var indexing = IndexAsync(blocks.Reader, cancellationToken);
        try
        {
            await using var plain = await BackupObjects.OpenReadAsync(repository.Store, entry, dataKey, cancellationToken);
            await using var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                Options = FileOptions.Asynchronous,
            });
            long total = 0;
            var indexed = true;
            int read;
            while ((read = await plain.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), cancellationToken)) > 0)
            {
                var written = file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                if (indexed)
                {
                    // The index stops reading only when the archive is not one it understands: nothing more to give it.
                    indexed = !(await blocks.Writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken)).IsCompleted;
                }

                await written;
                total += read;
                progress?.Report(new RestoreProgress(RestorePhase.Download, total, entry.PlainSizeBytes));
            }

            if (total != entry.PlainSizeBytes)
            {
                throw new Repository.Integrity.CorruptObjectException(entry.Key, $"it decoded to {total} bytes, the manifest says {entry.PlainSizeBytes}");
            }

            await blocks.Writer.CompleteAsync();
        }
        catch (Exception e)
        {
            await blocks.Writer.CompleteAsync(e);
            await ((Task)indexing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (await indexing is { } offsets)
        {
            var entries = await DumpArchiveReader.WriteDataOffsetsAsync(path, offsets, cancellationToken);
            LogOffsets(logger, entries);
        }
    }

    /// <summary>Where the dump's data blocks start, read from its bytes as they are staged; null when it is not an archive the reader understands.</summary>
    private async Task<DumpDataOffsets?> IndexAsync(PipeReader bytes, CancellationToken cancellationToken)
    {
        await using var stream = bytes.AsStream();
        try
        {
            return await DumpArchiveReader.ReadDataOffsetsAsync(stream, cancellationToken);
        }
        catch (DumpArchiveFormatException e)
        {
            // Only an optimisation: pg_restore restores the file as it is, scanning for each table's data.
            LogNoOffsets(logger, e.Message);
            return null;
        }
    }

    private async Task DropCreatedAsync(PreparedRestoreTarget target)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60), time);
            await RestoreTarget.DropAsync(target, timeout.Token);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            // The restore's own failure is what the caller must see; this one is logged so the database can be dropped by hand.
            LogDropFailed(logger, e, target.Database);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Restore of {Target}/{BackupId} into {Database} failed, dropping the database it created: {Error}")]
    private static partial void LogRestoreFailed(ILogger logger, string target, string backupId, string database, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not drop database {Database} after a failed restore; drop it by hand")]
    private static partial void LogDropFailed(ILogger logger, Exception exception, string database);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Staged dump: data offsets written for {Entries} table-of-contents entries")]
    private static partial void LogOffsets(ILogger logger, int entries);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Staged dump: no data offsets written ({Reason}); pg_restore scans the file for each table's data instead")]
    private static partial void LogNoOffsets(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Restoring {Target}/{BackupId} into database {Database} (created: {Created}, replaced: {Replaced})")]
    private static partial void LogTarget(ILogger logger, string target, string backupId, string database, bool created, bool replaced);
}
