using Npgsql;

namespace BackupDr.Repository.Postgres;

/// <summary>Facts about the source server and database, read at the snapshot.</summary>
internal sealed record SourceInfo(
    string ServerVersion,
    int ServerVersionNum,
    string? SystemIdentifier,
    string Database,
    string Host,
    int Port,
    string? User)
{
    public int Major => ServerVersionNum / 10000;
}

/// <summary>
/// A repeatable-read, read-only transaction on the source whose snapshot is exported, so that <c>pg_dump
/// --snapshot</c> and our own queries see exactly the same data. The recovery point is the moment the snapshot
/// was taken. The transaction stays open (and the snapshot valid) until this object is disposed.
/// </summary>
internal sealed class SourceSnapshot : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private bool _disposed;

    private SourceSnapshot(NpgsqlConnection connection, NpgsqlTransaction transaction, string snapshotId, DateTimeOffset recoveryPoint, SourceInfo source)
    {
        _connection = connection;
        _transaction = transaction;
        SnapshotId = snapshotId;
        RecoveryPoint = recoveryPoint;
        Source = source;
    }

    public string SnapshotId { get; }

    /// <summary>The instant the data of this snapshot is consistent to.</summary>
    public DateTimeOffset RecoveryPoint { get; }

    public SourceInfo Source { get; }

    public static async Task<SourceSnapshot> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "backupdr", Pooling = false };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            await using (var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY", connection, transaction))
            {
                await readOnly.ExecuteNonQueryAsync(cancellationToken);
            }

            // The first statement of a repeatable-read transaction takes its snapshot: the export, the clock and
            // the facts below all belong to that one instant.
            const string Sql = """
                SELECT pg_export_snapshot(), clock_timestamp(), current_setting('server_version'),
                       current_setting('server_version_num')::int, current_database(),
                       (SELECT system_identifier::text FROM pg_control_system())
                """;
            await using var command = new NpgsqlCommand(Sql, connection, transaction);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var source = new SourceInfo(
                reader.GetString(2), reader.GetInt32(3), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetString(4),
                builder.Host ?? "", builder.Port, builder.Username);
            var snapshot = new SourceSnapshot(connection, transaction, reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), source);
            return snapshot;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The distinct <c>ir_attachment.store_fname</c> values inside the snapshot: the filestore files the database
    /// references at the recovery point. Empty when the database has no <c>ir_attachment</c> table (not Odoo).
    /// Call it before <see cref="ReadFactsAsync"/> starts: the snapshot's connection runs one query at a time.
    /// </summary>
    public async Task<IReadOnlyList<string>> ReadStoreFnamesAsync(CancellationToken cancellationToken)
    {
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('ir_attachment') IS NOT NULL", _connection, _transaction))
        {
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                return [];
            }
        }

        const string Sql = "SELECT DISTINCT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL AND store_fname <> '' ORDER BY 1";
        await using var command = new NpgsqlCommand(Sql, _connection, _transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var names = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>Reads the Odoo facts (version, modules, ledger totals) inside the snapshot.</summary>
    public Task<OdooFacts> ReadFactsAsync(CancellationToken cancellationToken) =>
        DatabaseEvidence.ReadFactsAsync(_connection, cancellationToken);

    /// <summary>
    /// Ends the server sessions named <paramref name="applicationName"/> (our own pg_dump's), for a backup that stopped:
    /// a killed pg_dump's session would otherwise wait on, or hold, table locks until it next writes to its socket.
    /// Best effort on a fresh connection (the snapshot's may be broken); a role may end its own sessions.
    /// </summary>
    public static async Task TerminateSessionsAsync(string connectionString, string applicationName, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "backupdr", Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        // From PostgreSQL 14 the call waits (up to 10 s) until the session has really gone.
        var terminate = connection.PostgreSqlVersion.Major >= 14 ? "pg_terminate_backend(pid, 10000)" : "pg_terminate_backend(pid)";
        await using var command = new NpgsqlCommand(
            $"SELECT count({terminate}) FROM pg_stat_activity WHERE application_name = @name AND pid <> pg_backend_pid()", connection);
        command.Parameters.AddWithValue("name", applicationName);
        await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>Ends the transaction and closes the connection; calling it again does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;

        // Read-only: rolling back releases the snapshot and changes nothing.
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
