using Npgsql;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// Turns an Npgsql connection string into libpq environment variables for pg_dump and pg_restore, so that no
/// password ever appears on a command line (visible to every local user in the process list).
/// </summary>
internal static class PostgresToolEnvironment
{
    public static IReadOnlyDictionary<string, string?> From(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["PGHOST"] = builder.Host,
            ["PGPORT"] = builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PGDATABASE"] = builder.Database,
            ["PGUSER"] = builder.Username,
            ["PGPASSWORD"] = builder.Password,
            ["PGPASSFILE"] = builder.Passfile,
            ["PGAPPNAME"] = "backupdr",
            ["PGCONNECT_TIMEOUT"] = "30",

            // Dump timestamptz values in UTC: the restore check reads them back in UTC, whatever the servers' zones.
            ["PGTZ"] = "UTC",
        };
        if (builder.SslMode != SslMode.Prefer)
        {
            environment["PGSSLMODE"] = builder.SslMode.ToString().ToLowerInvariant() switch
            {
                "verifyca" => "verify-ca",
                "verifyfull" => "verify-full",
                var mode => mode,
            };
        }

        // Unset values are removed, so an inherited PGPASSWORD cannot leak into a connection it was not meant for.
        foreach (var key in environment.Where(e => string.IsNullOrEmpty(e.Value)).Select(e => e.Key).ToList())
        {
            environment[key] = null;
        }

        return environment;
    }
}
