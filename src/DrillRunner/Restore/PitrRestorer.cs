using System.Formats.Tar;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Postgres;
using BackupDr.Repository.Wal;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.DrillRunner.Restore;

/// <summary>The moments a target can be restored to: from its oldest base backup to what the archive covers.</summary>
internal sealed record RestorableRange(DateTimeOffset? From, DateTimeOffset? To)
{
    public override string ToString() => From is null ? "nothing (no base backup yet)"
        : To is null ? $"nothing yet (the WAL archive has not covered any moment since {From:u})"
        : $"{From.Value.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'} .. {To.Value.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}";
}

/// <summary>A restored, promoted cluster and what recovery reached.</summary>
/// <param name="LastReplayedTransaction">The commit time of the last transaction recovery replayed (null when none was).</param>
internal sealed record PitrRestoreResult(
    PostgresCluster Cluster, BackupManifest BaseBackup, RecoveryTarget Target, RestorableRange Range, DateTimeOffset? LastReplayedTransaction,
    string ReplayedLsn, uint Timeline, WalChainReport Chain, TimeSpan Elapsed);

/// <summary>
/// Point-in-time restore of a whole cluster (PITR restores clusters, not databases; the dump restore's <c>--into</c>
/// restores one database into a server you name). Picks the newest base backup consistent before the target, checks
/// the WAL chain from its start, extracts its tar straight from the repository into a new data folder (no second copy),
/// writes the recovery settings (restore_command = <c>backupdr wal-fetch</c>, the target, promote, archive_mode off),
/// starts PostgreSQL of the backup's major, waits for recovery to end and the copy to be promoted.
/// The caller owns the returned cluster (it is running).
/// </summary>
internal sealed partial class PitrRestorer(TimeProvider time, ILogger<PitrRestorer> logger)
{
    public const string KeyFileName = "wal-fetch.key";

    /// <summary>The restorable range of a target, from the repository alone.</summary>
    public static RestorableRange Range(IReadOnlyList<BackupManifest> bases, PitrStatus? status) =>
        new(bases.Count == 0 ? null : bases.Min(b => b.RecoveryPoint), bases.Count == 0 ? null : status?.CoveredUntil);

    /// <exception cref="RestoreRefusedException">The target lies outside the restorable range, or the archive has a gap.</exception>
    public async Task<PitrRestoreResult> RestoreAsync(
        BackupRepository repository, TargetOptions target, RecoveryTarget recoveryTarget, string dataRoot, WalFetchCommand fetch, CancellationToken cancellationToken)
    {
        var clock = time.GetTimestamp();
        var store = repository.Store;
        var bases = await BaseBackups.ListAsync(store, target.Name, cancellationToken);
        var status = await PitrStatus.ReadAsync(store, target.Name, cancellationToken);
        var range = Range(bases, status);
        var chosen = Choose(target.Name, bases, status, recoveryTarget, range);
        var pitr = chosen.Pitr!;

        using var walKey = WalKeys.Derive(repository.MasterKey, target.Name);
        var archive = new WalArchive(store, target.Name, walKey);
        var listing = await archive.ListAsync(cancellationToken);
        var chain = await WalChain.CheckAsync(listing, WalSegmentName.Parse(pitr.StartSegment, pitr.WalSegmentSizeBytes), pitr.WalSegmentSizeBytes,
            h => WalChain.ReadHistoryAsync(archive, h, cancellationToken));
        if (!chain.IsContinuous)
        {
            throw new RestoreRefusedException(
                $"the WAL archive of '{target.Name}' is not continuous after base backup {chosen.BackupId}: "
                + string.Join("; ", chain.Gaps.Select(g => g.ToString()).Concat(chain.Problems))
                + ". Moments after the first gap cannot be restored; run 'backupdr verify --target " + target.Name + "' for the whole chain");
        }

        LogRestoring(logger, target.Name, chosen.BackupId, recoveryTarget);
        var keyBytes = walKey.AsSpan().ToArray();
        var restoreCommand = RestoreCommand(fetch, target.Name, Path.Combine(Path.GetFullPath(dataRoot), KeyFileName));
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["restore_command"] = Quote(restoreCommand),
            ["recovery_target_timeline"] = "'latest'",
            ["hot_standby"] = "off",
            ["archive_command"] = "''",
            ["primary_conninfo"] = "''",
            ["max_replication_slots"] = "0",
        };
        foreach (var (name, value) in recoveryTarget.Settings())
        {
            settings[name] = value;
        }

        var options = new PostgresClusterOptions
        {
            WalLevel = PostgresWalLevel.Replica,
            Settings = settings,
            StartTimeout = target.Pitr.RecoveryTimeout,
            TimeProvider = time,
            Environment = fetch.Environment,

            // The restored server outlives this call (the operator's runbook or the drill's probes use it); the owner
            // stops and deletes it with DestroyAsync.
            Persistent = true,
        };
        var tarEntry = chosen.Object(BaseBackups.TarObjectName);
        var cluster = await PostgresCluster.AdoptAsync(chosen.Source.ServerVersionNum / 10000, dataRoot, options, async (data, root, token) =>
        {
            using (var dataKey = BaseBackups.OpenDataKey(repository.MasterKey, chosen))
            {
                await using var tar = await BackupObjects.OpenReadAsync(store, tarEntry, dataKey, token);
                await TarFile.ExtractToDirectoryAsync(tar, data, overwriteFiles: false, token);

                // The tar ends before the stream does (padding): read to the end so the size and SHA-256 are checked.
                await tar.CopyToAsync(Stream.Null, token);
            }

            await File.WriteAllBytesAsync(Path.Combine(root, KeyFileName), keyBytes, token);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(Path.Combine(root, KeyFileName), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            await File.WriteAllTextAsync(Path.Combine(data, "recovery.signal"), "", token);
        }, cancellationToken);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(keyBytes);
        try
        {
            await CheckRestoreCommandAsync(cluster, restoreCommand, chosen.Pitr!.StartSegment, cancellationToken);
            await cluster.StartAsync(cancellationToken);
            var (replayed, lsn, timeline) = await WaitForPromotionAsync(cluster, target.Pitr.RecoveryTimeout, cancellationToken);
            if (recoveryTarget.Kind == RecoveryTargetKind.Latest && status?.ArchivedLsn is { } archived && Lsn.Parse(lsn) < Lsn.Parse(archived))
            {
                throw new InvalidOperationException(
                    $"recovery ended at {lsn}, before the archive's end {archived}: WAL could not be fetched (see {cluster.LogFile})");
            }

            LogRestored(logger, target.Name, chosen.BackupId, lsn, replayed);
            return new PitrRestoreResult(cluster, chosen, recoveryTarget, range, replayed, lsn, timeline, chain, time.GetElapsedTime(clock));
        }
        catch (Exception e) when (e is not OperationCanceledException || cancellationToken.IsCancellationRequested)
        {
            // Nothing half-restored is left running: the folder holds a copy that never finished recovery.
            var log = cluster.LogTail();
            await cluster.DestroyAsync(CancellationToken.None, immediate: true);
            throw e is RestoreRefusedException or OperationCanceledException ? e : new InvalidOperationException($"{e.Message}\nServer log ends with:\n{log}", e);
        }
    }

    /// <summary>
    /// Fetches the base backup's first WAL segment exactly as the server will (its restore_command, as its OS user),
    /// before the server starts: a backupdr program, configuration, repository or key file that user cannot reach would
    /// otherwise end recovery with a bare "could not locate required checkpoint record" in the server's log.
    /// </summary>
    /// <exception cref="RestoreRefusedException">The command failed: nothing was restored.</exception>
    private static async Task CheckRestoreCommandAsync(PostgresCluster cluster, string restoreCommand, string segment, CancellationToken cancellationToken)
    {
        var into = Path.Combine(cluster.DataRoot, "restore-command-check");
        var command = restoreCommand
            .Replace("%f", segment, StringComparison.Ordinal)
            .Replace("%p", ShellQuote(into), StringComparison.Ordinal);
        var result = await cluster.RunShellAsServerAsync(command, cancellationToken);
        File.Delete(into);
        if (result.ExitCode != 0)
        {
            var user = cluster.OsUser ?? Environment.UserName;
            throw new RestoreRefusedException(
                $"the restored server could not fetch WAL {segment} with its restore_command (exit {result.ExitCode}) running as OS user '{user}': "
                + $"{result.StandardErrorTail.Trim()}\nThe server runs `backupdr wal-fetch` as that user: the backupdr program, its configuration file, "
                + "the repository (for a local one) and every folder above them must be readable by it.");
        }
    }

    /// <summary>The base backup a restore to <paramref name="recoveryTarget"/> starts from.</summary>
    /// <exception cref="RestoreRefusedException">No base backup, or the target lies outside the restorable range.</exception>
    public static BackupManifest Choose(string target, IReadOnlyList<BackupManifest> bases, PitrStatus? status, RecoveryTarget recoveryTarget, RestorableRange range)
    {
        if (bases.Count == 0)
        {
            throw new RestoreRefusedException(
                $"'{target}' has no PITR base backup yet: take one with 'backupdr pitr base-backup --target {target}' (the worker takes them on Pitr:BaseBackupSchedule)");
        }

        switch (recoveryTarget.Kind)
        {
            case RecoveryTargetKind.Time:
                var moment = recoveryTarget.Time!.Value;
                if (range.To is null || moment < range.From || moment > range.To)
                {
                    throw new RestoreRefusedException($"{recoveryTarget} is outside what '{target}' can be restored to: {range}");
                }

                return bases.Last(b => b.RecoveryPoint <= moment);
            case RecoveryTargetKind.Lsn:
                var lsn = recoveryTarget.Lsn!.Value;
                var candidates = bases.Where(b => Lsn.Parse(b.Pitr!.EndLsn) <= lsn).ToList();
                var archivedTo = status?.ArchivedLsn is { } a ? Lsn.Parse(a) : (Lsn?)null;
                if (candidates.Count == 0 || archivedTo is null || lsn > archivedTo)
                {
                    throw new RestoreRefusedException(
                        $"{recoveryTarget} is outside what '{target}' can be restored to: {bases[0].Pitr!.EndLsn} .. {archivedTo?.ToString() ?? "(nothing archived yet)"} ({range})");
                }

                return candidates[^1];
            default:
                return bases[^1];
        }
    }

    private static string RestoreCommand(WalFetchCommand fetch, string target, string keyFile)
    {
        var words = fetch.Prefix.Select(ShellQuote).Concat(["wal-fetch", "%f", "%p", "--target", ShellQuote(target), "--key-file", ShellQuote(keyFile)]);
        return string.Join(' ', words);
    }

    private static string ShellQuote(string word) =>
        word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-=:".Contains(c, StringComparison.Ordinal)) ? word : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>Waits (bounded) until the server left recovery, then reads what recovery replayed.</summary>
    private async Task<(DateTimeOffset? Replayed, string Lsn, uint Timeline)> WaitForPromotionAsync(
        PostgresCluster cluster, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var builder = cluster.ConnectionString();
        builder.Pooling = false;
        var started = time.GetTimestamp();
        while (true)
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(
                "SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp(), pg_last_wal_replay_lsn()::text, (pg_control_checkpoint()).timeline_id", connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            if (!reader.GetBoolean(0))
            {
                return (reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1), reader.IsDBNull(2) ? "0/0" : reader.GetString(2), (uint)reader.GetInt32(3));
            }

            if (time.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"the restored cluster in {cluster.DataDirectory} was still in recovery after {timeout} (Pitr:RecoveryTimeout)");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PITR restore of {Target}: base backup {BackupId}, replaying WAL to {RecoveryTarget}")]
    private static partial void LogRestoring(ILogger logger, string target, string backupId, RecoveryTarget recoveryTarget);

    [LoggerMessage(Level = LogLevel.Information, Message = "PITR restore of {Target} from {BackupId} promoted at {Lsn}; last replayed transaction committed at {Replayed}")]
    private static partial void LogRestored(ILogger logger, string target, string backupId, string lsn, DateTimeOffset? replayed);
}
