using System.Globalization;
using BackupDr.Repository.Wal;
using Npgsql;

namespace BackupDr.BackupWorker.Pitr;

/// <summary>The source's WAL position and the slot's, read together (the source's own clock).</summary>
/// <param name="Current">The WAL insert position: every commit made so far lies below it, asynchronous ones included.</param>
/// <param name="RestartLsn">What the slot retains from; for a physical slot, what the receiver has flushed. Null when the slot is missing.</param>
internal sealed record SourcePosition(Lsn Current, DateTimeOffset At, uint Timeline, Lsn? RestartLsn, bool SlotActive)
{
    /// <summary>WAL the slot holds back on the source: what a stuck archiver costs the source's disk.</summary>
    public long RetainedBytes => RestartLsn is { } restart && Current > restart ? (long)(Current.Value - restart.Value) : 0;
}

/// <summary>
/// What PITR asks of the source over an ordinary connection: a physical slot that reserves WAL at once, positions, and
/// the advisory lock that lets exactly one replica stream a target. Needs a role with LOGIN and REPLICATION only.
/// </summary>
internal sealed class PitrSource : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;

    private PitrSource(NpgsqlConnection connection, int major, long segmentSizeBytes)
    {
        _connection = connection;
        Major = major;
        SegmentSizeBytes = segmentSizeBytes;
    }

    public int Major { get; }

    public long SegmentSizeBytes { get; }

    public static async Task<PitrSource> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "backupdr-pitr", Pooling = false };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(
                "SELECT current_setting('server_version_num')::int, pg_size_bytes(current_setting('wal_segment_size')), current_setting('wal_level')", connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var versionNum = reader.GetInt32(0);
            var segmentSize = reader.GetInt64(1);
            var walLevel = reader.GetString(2);
            if (walLevel == "minimal")
            {
                throw new InvalidOperationException(
                    $"the source {builder.Host}:{builder.Port} runs with wal_level=minimal: point-in-time recovery needs wal_level=replica (set it and restart the source)");
            }

            return new PitrSource(connection, versionNum / 10000, segmentSize);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Drops the slot when it points at WAL the source no longer has (<c>wal_status</c> 'lost', or a restart position
    /// below <paramref name="removedBefore"/>, where the source told the receiver its WAL is removed): streaming through
    /// it could never resume. It happens after a failover: the receiver asks the promoted standby for WAL it had already
    /// recycled, or never had under that timeline's name, and the physical slot takes the position the receiver reports.
    /// A receiver that just ended is waited for (bounded) to let go of the slot. Returns true when it dropped the slot
    /// (the caller creates it again).
    /// </summary>
    public async Task<bool> DropLostSlotAsync(string slot, Lsn? removedBefore, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            string? walStatus;
            bool active;
            Lsn? restart;
            await using (var command = new NpgsqlCommand(
                "SELECT wal_status, active, restart_lsn::text FROM pg_replication_slots WHERE slot_name = @slot", _connection))
            {
                command.Parameters.AddWithValue("slot", slot);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                var found = await reader.ReadAsync(cancellationToken);
                walStatus = found && !reader.IsDBNull(0) ? reader.GetString(0) : null;
                active = found && reader.GetBoolean(1);
                restart = found && !reader.IsDBNull(2) ? Lsn.Parse(reader.GetString(2)) : null;
            }

            if (walStatus != "lost" && !(restart < removedBefore))
            {
                return false;
            }

            if (!active)
            {
                await using var drop = new NpgsqlCommand("SELECT pg_drop_replication_slot(@slot)", _connection);
                drop.Parameters.AddWithValue("slot", slot);
                await drop.ExecuteNonQueryAsync(cancellationToken);
                return true;
            }

            if (time.GetElapsedTime(started) > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException(
                    $"the replication slot {slot} points at WAL the source no longer has, and a receiver still holds it after 30 s; stop that receiver (pg_stat_replication) so the slot can be created again");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
        }
    }

    /// <summary>
    /// Creates the physical slot when it is missing, reserving WAL at once (so nothing written after this call can be
    /// recycled before it is archived). Returns true when it created the slot.
    /// </summary>
    public async Task<bool> EnsureSlotAsync(string slot, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = @slot)
                        THEN false
                        ELSE (SELECT true FROM pg_create_physical_replication_slot(@slot, true)) END
            """, _connection);
        command.Parameters.AddWithValue("slot", slot);
        try
        {
            return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateObject)
        {
            // Created meanwhile by the base backup or the archiver (both ensure it): it exists, which is all we need.
            return false;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new InvalidOperationException(
                $"cannot create the replication slot '{slot}': the role needs the REPLICATION attribute (ALTER ROLE <role> REPLICATION): {e.MessageText}", e);
        }
    }

    /// <summary>
    /// Takes the session advisory lock that makes this process the target's only archiver; false when another holds
    /// it. Held until this connection closes (a dead replica's lock goes with its session).
    /// </summary>
    public async Task<bool> TryLockArchiverAsync(string slot, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended('backupdr-pitr-archiver:' || @slot, 0))", _connection);
        command.Parameters.AddWithValue("slot", slot);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Commits one empty transaction (an xid, nothing else) and returns a time read inside it. Recovery to a moment
    /// needs a commit record at or after that moment to know it got there; on an idle source none would exist, so
    /// every flush writes one. The returned time lies before the commit record's own time.
    /// </summary>
    public async Task<DateTimeOffset> HeartbeatAsync(CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT txid_current(), clock_timestamp()", _connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.GetFieldValue<DateTimeOffset>(1);
    }

    public async Task<SourcePosition> ReadPositionAsync(string slot, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT pg_current_wal_insert_lsn()::text, clock_timestamp(), left(pg_walfile_name(pg_current_wal_insert_lsn()), 8),
                   s.restart_lsn::text, coalesce(s.active, false)
            FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s ON s.slot_name = @slot
            """, _connection);
        command.Parameters.AddWithValue("slot", slot);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new SourcePosition(
            Lsn.Parse(reader.GetString(0)),
            reader.GetFieldValue<DateTimeOffset>(1),
            uint.Parse(reader.GetString(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            reader.IsDBNull(3) ? null : Lsn.Parse(reader.GetString(3)),
            reader.GetBoolean(4));
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
