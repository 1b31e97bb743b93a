using System.IO.Pipelines;
using BackupDr.BackupWorker.Backups;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Compression;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Postgres;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Wal;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.BackupWorker.Pitr;

/// <summary>
/// Takes one PITR base backup: <c>pg_basebackup -D - -Ft -X none</c> (the data folder as one tar on standard output,
/// no WAL: the archive has it) streamed through zstd and AES-256-GCM into the repository with no temporary copy, then
/// the sealed manifest (schema 3: start and end LSN, timeline, the WAL files it needs), last. The slot is ensured first
/// so that the WAL from the backup's start on is retained for the archiver even if it is not running yet.
/// </summary>
internal sealed partial class BaseBackupService(TimeProvider time, ILogger<BaseBackupService> logger)
{
    /// <summary>zstd level 1: a data folder is mostly table pages; the stream is CPU-bound on small hosts.</summary>
    private static readonly CompressionSettings TarCompression = new(level: 1);

    public async Task<BackupManifest> BackupAsync(BackupRepository repository, TargetOptions target, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var backupId = BackupId.New(time);
        var slot = target.Pitr.EffectiveSlotName(target.Name);
        LogStarting(logger, target.Name, backupId.Value);
        SourceInfo info;
        long segmentSize;
        await using (var source = await PitrSource.OpenAsync(target.ConnectionString, cancellationToken))
        {
            await source.EnsureSlotAsync(slot, cancellationToken);
            segmentSize = source.SegmentSizeBytes;
            info = await ReadSourceAsync(target.ConnectionString, cancellationToken);
        }

        var tool = PostgresInstallation.Locate(info.Major).FindTool("pg_basebackup");
        var version = (await ChildProcess.RunAsync(new ChildProcessRequest(tool, ["--version"]), cancellationToken)).StandardOutput.Trim();
        using var dataKey = DataKey.Create();
        var tarKey = BaseBackups.Folder(target.Name, backupId) / (BaseBackups.TarObjectName + Codec.Zstd.Suffix() + BackupObjects.CipherSuffix);
        ManifestObject? tar = null;
        try
        {
            BaseBackupLabel label;
            await using (var basebackup = RunningChildProcess.Start(new ChildProcessRequest(tool,
                ["--pgdata=-", "--format=tar", "--wal-method=none", "--checkpoint=fast", "--no-password",
                 "--label=backupdr " + backupId.Value])
            {
                Environment = new Dictionary<string, string?>(PostgresToolEnvironment.From(target.ConnectionString)) { ["PGAPPNAME"] = "backupdr-pg_basebackup" },
            }))
            {
                Task<BaseBackupLabel>? reading = null;
                tar = await BackupObjects.WriteAsync(repository.Store, tarKey, BaseBackups.TarObjectName, Codec.Zstd, dataKey, TarCompression,
                    async (sink, token) =>
                    {
                        var inspected = new Pipe(new PipeOptions(pauseWriterThreshold: 16 << 20, resumeWriterThreshold: 8 << 20, useSynchronizationContext: false));
                        reading = BaseBackupLabel.ReadAsync(inspected.Reader, token);
                        await CopyAsync(basebackup.StandardOutput, sink, inspected.Writer, token);
                        await basebackup.WaitForSuccessAsync(token);
                    },
                    cancellationToken);
                label = await reading!;
            }

            var (start, end, timeline) = (label.Start, label.End, label.Timeline);

            // The copy is consistent once recovery passed the end LSN, which pg_basebackup reported before it exited:
            // the source's clock read now lies after it, so it is a safe earliest moment to restore to.
            DateTimeOffset consistentAt;
            await using (var connection = new NpgsqlConnection(target.ConnectionString))
            {
                await connection.OpenAsync(cancellationToken);
                await using var now = new NpgsqlCommand("SELECT clock_timestamp()", connection);
                consistentAt = new DateTimeOffset((DateTime)(await now.ExecuteScalarAsync(cancellationToken))!);
            }

            var manifest = new BackupManifest
            {
                SchemaVersion = BackupManifest.PitrSchemaVersion,
                BackupId = backupId.Value,
                Target = target.Name,
                Tenant = target.Tenant,
                Environment = target.Environment,
                Tier = target.Tier,
                StartedAt = startedAt,
                CompletedAt = time.GetUtcNow(),
                RecoveryPoint = consistentAt,
                Source = new ManifestSource(info.Host, info.Port, info.Database, info.ServerVersion, info.ServerVersionNum, info.SystemIdentifier, null),
                Tools = new ManifestTools(DatabaseBackupService.ProductVersion, version),
                Encryption = new ManifestEncryption(DatabaseBackupService.EncryptionAlgorithm, repository.MasterKey.KeyId, ""),
                Objects = [tar],
                Pitr = new ManifestPitr(ManifestPitr.BaseKind, start.ToString(), end.ToString(), timeline,
                    new WalSegmentName(timeline, start.Segment(segmentSize)).Format(segmentSize),
                    new WalSegmentName(timeline, end.Segment(segmentSize)).Format(segmentSize),
                    segmentSize, slot),
            };
            manifest = await BaseBackups.CommitAsync(repository.Store, repository.MasterKey, dataKey, manifest, cancellationToken);
            LogCompleted(logger, target.Name, backupId.Value, manifest.Pitr!.StartLsn, manifest.Pitr.EndLsn, tar.PlainSizeBytes, tar.SizeBytes);
            return manifest;
        }
        catch (Exception e)
        {
            LogFailed(logger, target.Name, backupId.Value, e.Message);
            if (tar is not null)
            {
                // Without a manifest the tar is invisible; removing it now saves space (best effort, bounded).
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);
                try
                {
                    await repository.Store.DeleteAsync(ObjectKey.Parse(tar.Key), timeout.Token);
                }
                catch (Exception cleanup) when (cleanup is StorageException or OperationCanceledException)
                {
                    LogOrphanLeft(logger, cleanup, target.Name, tar.Key);
                }
            }

            throw;
        }
    }

    private static async Task<SourceInfo> ReadSourceAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int, (SELECT system_identifier::text FROM pg_control_system()), current_database()",
            connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new SourceInfo(reader.GetString(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3),
            builder.Host ?? "", builder.Port, builder.Username);
    }

    /// <summary>Copies pg_basebackup's tar to the upload and to the label reader; the reader's pipe is always completed.</summary>
    private static async Task CopyAsync(Stream tar, Stream sink, PipeWriter inspected, CancellationToken cancellationToken)
    {
        try
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = await tar.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await sink.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                var flushed = await inspected.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                if (flushed.IsCompleted)
                {
                    throw new InvalidDataException("the base backup's tar could not be read for its backup_label");
                }
            }

            await inspected.CompleteAsync();
        }
        catch (Exception e)
        {
            await inspected.CompleteAsync(e);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PITR base backup of {Target} started: {BackupId}")]
    private static partial void LogStarting(ILogger logger, string target, string backupId);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "PITR base backup of {Target} committed: {BackupId}, WAL {StartLsn}..{EndLsn}, {TarBytes} bytes stored as {StoredBytes}")]
    private static partial void LogCompleted(ILogger logger, string target, string backupId, string startLsn, string endLsn, long tarBytes, long storedBytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "PITR base backup of {Target} {BackupId} failed; nothing was committed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string target, string backupId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PITR base backup of {Target}: could not remove the uncommitted object {Key} (invisible without a manifest)")]
    private static partial void LogOrphanLeft(ILogger logger, Exception exception, string target, string key);
}
