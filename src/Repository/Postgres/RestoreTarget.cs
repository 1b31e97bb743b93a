using Npgsql;

namespace BackupDr.Repository.Postgres;

/// <summary>A restore was refused before anything was written; the message says why and what to do.</summary>
internal sealed class RestoreRefusedException(string message) : Exception(message);

/// <summary>The database a restore writes into, checked and prepared.</summary>
internal sealed record PreparedRestoreTarget(string ConnectionString, string Database, int ServerMajor, bool Created, bool Replaced);

/// <summary>
/// Guards the database a restore writes into: never the backup's own source (same cluster system identifier and
/// database name), never a database holding objects unless the operator forces it (then it is dropped and created
/// anew), never a server older than the dump. A missing database is created.
/// </summary>
internal static class RestoreTarget
{
    public static async Task<PreparedRestoreTarget> PrepareAsync(
        string connectionString, SourceInfo source, bool force, CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "backupdr", Pooling = false };
        var database = target.Database;
        if (string.IsNullOrWhiteSpace(database))
        {
            throw new RestoreRefusedException("--into has no Database=...; name the database to restore into.");
        }

        var maintenance = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Database = "postgres" };
        await using var admin = new NpgsqlConnection(maintenance.ConnectionString);
        await admin.OpenAsync(cancellationToken);
        var serverMajor = admin.PostgreSqlVersion.Major;
        if (serverMajor < source.Major)
        {
            throw new RestoreRefusedException(
                $"the target server runs PostgreSQL {serverMajor}, older than the backup's {source.Major}; restore into PostgreSQL {source.Major} or newer.");
        }

        var systemIdentifier = await ScalarAsync<string?>(admin, "SELECT system_identifier::text FROM pg_control_system()", cancellationToken);
        if (source.SystemIdentifier is not null && systemIdentifier == source.SystemIdentifier
            && string.Equals(database, source.Database, StringComparison.Ordinal))
        {
            throw new RestoreRefusedException(
                $"database '{database}' on this server is the backup's own source (cluster {systemIdentifier}); restoring over it would destroy the data the backup came from. Restore into another database.");
        }

        var exists = await ScalarAsync<bool>(admin, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = @name)", cancellationToken, database);
        if (!exists)
        {
            await CreateAsync(admin, database, cancellationToken);
            return new PreparedRestoreTarget(target.ConnectionString, database, serverMajor, Created: true, Replaced: false);
        }

        var objects = await CountUserObjectsAsync(target.ConnectionString, cancellationToken);
        if (objects == 0)
        {
            return new PreparedRestoreTarget(target.ConnectionString, database, serverMajor, Created: false, Replaced: false);
        }

        if (!force)
        {
            throw new RestoreRefusedException(
                $"database '{database}' is not empty ({objects} tables, views or sequences); restore into a new or empty database, or pass --force to drop and recreate it.");
        }

        await ExecuteAsync(admin, $"DROP DATABASE {SqlIdentifier.Quote(database)} WITH (FORCE)", cancellationToken);
        await CreateAsync(admin, database, cancellationToken);
        return new PreparedRestoreTarget(target.ConnectionString, database, serverMajor, Created: true, Replaced: true);
    }

    /// <summary>Drops a database this restore created, so that a failed restore leaves no half-filled copy behind.</summary>
    public static async Task DropAsync(PreparedRestoreTarget target, CancellationToken cancellationToken)
    {
        var maintenance = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Database = "postgres" };
        await using var admin = new NpgsqlConnection(maintenance.ConnectionString);
        await admin.OpenAsync(cancellationToken);
        await ExecuteAsync(admin, $"DROP DATABASE IF EXISTS {SqlIdentifier.Quote(target.Database)} WITH (FORCE)", cancellationToken);
    }

    private static async Task<long> CountUserObjectsAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        const string Sql = """
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            """;
        return await ScalarAsync<long>(connection, Sql, cancellationToken);
    }

    private static Task CreateAsync(NpgsqlConnection admin, string database, CancellationToken cancellationToken) =>
        ExecuteAsync(admin, $"CREATE DATABASE {SqlIdentifier.Quote(database)} TEMPLATE template0 ENCODING 'UTF8'", cancellationToken);

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, string? name = null)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (name is not null)
        {
            command.Parameters.AddWithValue("name", name);
        }

        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DBNull or null ? default! : (T)value;
    }
}
