using System.Buffers;
using System.Reflection;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Compression;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Postgres;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Backups;

/// <summary>Bytes of the dump stream so far, for progress displays.</summary>
internal readonly record struct BackupProgress(long DumpedBytes);

/// <summary>
/// Takes one backup of a target's database: an exported repeatable-read snapshot, <c>pg_dump --snapshot</c> streamed
/// through zstd and AES-256-GCM straight into the repository, the evidence read inside the same snapshot, and the
/// manifest written last. Any failure leaves no manifest, so the attempt does not exist for list, verify or restore.
/// </summary>
internal sealed partial class DatabaseBackupService(TimeProvider time, ILogger<DatabaseBackupService> logger)
{
    public const string EncryptionAlgorithm = "AES-256-GCM-SEGMENTED-1";
    private const int CopyBufferBytes = 1 << 20;

    public static string ProductVersion { get; } =
        typeof(DatabaseBackupService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    public async Task<BackupManifest> BackupAsync(
        BackupRepository repository, TargetOptions target, IProgress<BackupProgress>? progress, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var backupId = BackupId.New(time);
        var store = repository.Store;
        LogStarting(logger, target.Name, backupId.Value);

        using var dataKey = DataKey.Create();
        await using var snapshot = await SourceSnapshot.OpenAsync(target.ConnectionString, cancellationToken);
        var source = snapshot.Source;
        var pgDumpVersion = await PgDump.VersionAsync(source.Major, cancellationToken);

        var written = new List<ManifestObject>();
        try
        {
            // The evidence queries run on the snapshot's own connection while pg_dump reads the same snapshot.
            var evidence = snapshot.ReadEvidenceAsync(cancellationToken);
            await using (var dump = PgDump.Start(source.Major, target.ConnectionString, snapshot.SnapshotId))
            {
                written.Add(await BackupObjects.WriteAsync(
                    store,
                    RepositoryLayout.Object(target.Name, backupId, RepositoryLayout.DatabaseObjectName, Codec.Zstd.Suffix() + BackupObjects.CipherSuffix),
                    RepositoryLayout.DatabaseObjectName,
                    Codec.Zstd,
                    dataKey,
                    CompressionSettings.Default,
                    (sink, token) => CopyDumpAsync(dump, sink, progress, token),
                    cancellationToken));
            }

            var evidenceJson = BackupEvidence.Serialize(await evidence);
            written.Add(await BackupObjects.WriteAsync(
                store,
                RepositoryLayout.Object(target.Name, backupId, BackupEvidence.ObjectName, Codec.Zstd.Suffix() + BackupObjects.CipherSuffix),
                BackupEvidence.ObjectName,
                Codec.Zstd,
                dataKey,
                CompressionSettings.Default,
                (sink, token) => sink.WriteAsync(evidenceJson, token).AsTask(),
                cancellationToken));

            var manifest = new BackupManifest
            {
                BackupId = backupId.Value,
                Target = target.Name,
                Tenant = target.Tenant,
                Environment = target.Environment,
                Tier = target.Tier,
                StartedAt = startedAt,
                CompletedAt = time.GetUtcNow(),
                RecoveryPoint = snapshot.RecoveryPoint,
                Source = new ManifestSource(source.Host, source.Port, source.Database, source.ServerVersion, source.ServerVersionNum,
                    source.SystemIdentifier, (await evidence).OdooVersion),
                Tools = new ManifestTools(ProductVersion, pgDumpVersion),
                Encryption = new ManifestEncryption(EncryptionAlgorithm, repository.MasterKey.KeyId, ""),
                Objects = written,
            };
            manifest = manifest with
            {
                Encryption = manifest.Encryption with
                {
                    WrappedDataKey = RepositoryKeys.WrapDataKey(repository.MasterKey, dataKey, BackupManifestSerializer.SealContext(manifest)),
                },
            };

            using var manifestBytes = new MemoryStream(BackupManifestSerializer.Serialize(manifest), writable: false);
            await store.PutAsync(RepositoryLayout.Manifest(target.Name, backupId), manifestBytes, Repository.Storage.PutOptions.CreateOnly, cancellationToken);
            var database = written[0];
            var seconds = (manifest.CompletedAt - startedAt).TotalSeconds;
            LogCompleted(logger, target.Name, backupId.Value, database.PlainSizeBytes, database.SizeBytes, seconds);
            return manifest;
        }
        catch (Exception e)
        {
            // Without a manifest the objects are invisible already; removing them now saves the garbage sweep the work.
            LogFailed(logger, e, target.Name, backupId.Value);
            await RemoveOrphansAsync(repository, written, target.Name, backupId);
            throw;
        }
    }

    private static async Task CopyDumpAsync(RunningChildProcess dump, Stream sink, IProgress<BackupProgress>? progress, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        try
        {
            long total = 0;
            int read;
            while ((read = await dump.StandardOutput.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), cancellationToken)) > 0)
            {
                await sink.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                total += read;
                progress?.Report(new BackupProgress(total));
            }

            // A dump is only whole when pg_dump says so: a short stream from a failed pg_dump must not be committed.
            await dump.WaitForSuccessAsync(cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task RemoveOrphansAsync(BackupRepository repository, List<ManifestObject> written, string target, BackupId backupId)
    {
        foreach (var entry in written)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);
                await repository.Store.DeleteAsync(Repository.Storage.ObjectKey.Parse(entry.Key), timeout.Token);
            }
            catch (Exception e) when (e is Repository.Storage.StorageException or OperationCanceledException)
            {
                // Best effort: a manifest-less object is invisible, and prune sweeps orphans later.
                LogOrphanLeft(logger, e, target, backupId.Value, entry.Key);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Backup of {Target} started: {BackupId}")]
    private static partial void LogStarting(ILogger logger, string target, string backupId);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Backup of {Target} committed: {BackupId}, dump {DumpBytes} bytes stored as {StoredBytes} bytes in {Seconds:F1} s")]
    private static partial void LogCompleted(ILogger logger, string target, string backupId, long dumpBytes, long storedBytes, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Backup of {Target} failed: {BackupId} was not committed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string target, string backupId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backup {Target}/{BackupId}: could not remove orphan object {Key}; prune will")]
    private static partial void LogOrphanLeft(ILogger logger, Exception exception, string target, string backupId, string key);
}
