using System.Text.Json;
using BackupDr.Repository.Postgres;
using Npgsql;

namespace BackupDr.OdooDemo;

/// <summary>What <c>odoo-demo up</c> reports: how to reach the demo database and what it holds.</summary>
internal sealed record DemoEnvironmentInfo(
    string DataDir,
    string ConnectionString,
    string Host,
    int Port,
    string SocketDirectory,
    string Database,
    string Filestore,
    bool Reused,
    DemoSummary Summary);

/// <summary>
/// A demo environment in one folder: a PostgreSQL cluster (<c>pg/</c>), the filestore (<c>filestore/odoo_demo</c>)
/// and <c>odoo-demo.json</c>, written once the database is complete. <see cref="UpAsync"/> is idempotent.
/// </summary>
internal static class DemoEnvironment
{
    public const int PostgresMajor = 15;
    public const string DatabaseName = "odoo_demo";
    private const string MarkerName = "odoo-demo.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// Opens or creates the cluster under <paramref name="dataDir"/>, starts it, and generates the database once.
    /// Later runs only start the server. The server is left running.
    /// </summary>
    /// <exception cref="InvalidOperationException">The folder holds a demo of another scale or seed.</exception>
    public static async Task<DemoEnvironmentInfo> UpAsync(string dataDir, int scale, long seed, CancellationToken cancellationToken)
    {
        dataDir = Path.GetFullPath(dataDir);
        Directory.CreateDirectory(dataDir);
        var marker = Path.Combine(dataDir, MarkerName);
        DemoSummary? existing = null;
        if (File.Exists(marker))
        {
            existing = JsonSerializer.Deserialize<DemoSummary>(await File.ReadAllTextAsync(marker, cancellationToken), Json);
            if (existing is not null && (existing.Scale != scale || existing.Seed != seed))
            {
                throw new InvalidOperationException(
                    $"{dataDir} already holds a demo of scale {existing.Scale} and seed {existing.Seed}; run 'odoo-demo down --data-dir {dataDir} --purge' first.");
            }
        }

        await using var cluster = await PostgresCluster.OpenOrCreateAsync(
            PostgresMajor, Path.Combine(dataDir, "pg"), new PostgresClusterOptions { Persistent = true }, cancellationToken);
        await cluster.StartAsync(cancellationToken);
        var connectionString = cluster.ConnectionString(DatabaseName).ConnectionString;
        var filestore = Path.Combine(dataDir, "filestore", DatabaseName);
        if (existing is null)
        {
            await CreateDatabaseIfMissingAsync(cluster, cancellationToken);
            // No marker means no finished generation: whatever an interrupted run left is ours to replace.
            existing = await DemoDatabase.GenerateAsync(connectionString, filestore, scale, seed, cancellationToken, replace: true);
            await File.WriteAllTextAsync(marker + ".tmp", JsonSerializer.Serialize(existing, Json), cancellationToken);
            File.Move(marker + ".tmp", marker, overwrite: true);
            return new DemoEnvironmentInfo(dataDir, connectionString, cluster.Host, cluster.Port, cluster.SocketDirectory, DatabaseName, filestore, false, existing);
        }

        return new DemoEnvironmentInfo(dataDir, connectionString, cluster.Host, cluster.Port, cluster.SocketDirectory, DatabaseName, filestore, true, existing);
    }

    /// <summary>Stops the demo server; with <paramref name="purge"/> also deletes the cluster, filestore and marker.</summary>
    /// <returns>False when the folder holds no demo cluster.</returns>
    public static async Task<bool> DownAsync(string dataDir, bool purge, CancellationToken cancellationToken)
    {
        dataDir = Path.GetFullPath(dataDir);
        var clusterRoot = Path.Combine(dataDir, "pg");
        var found = File.Exists(Path.Combine(clusterRoot, PostgresCluster.StateFileName));
        if (found)
        {
            await using var cluster = await PostgresCluster.OpenAsync(clusterRoot, new PostgresClusterOptions { Persistent = true }, cancellationToken);
            if (purge)
            {
                await cluster.DestroyAsync(cancellationToken);
            }
            else
            {
                await cluster.StopAsync(cancellationToken);
            }
        }

        if (purge && Directory.Exists(dataDir))
        {
            foreach (var path in new[] { clusterRoot, Path.Combine(dataDir, "filestore") })
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }
            }

            File.Delete(Path.Combine(dataDir, MarkerName));
            if (!Directory.EnumerateFileSystemEntries(dataDir).Any())
            {
                Directory.Delete(dataDir);
            }
        }

        return found;
    }

    private static async Task CreateDatabaseIfMissingAsync(PostgresCluster cluster, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString().ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = $1", connection);
        exists.Parameters.AddWithValue(DatabaseName);
        if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName} TEMPLATE template0 ENCODING 'UTF8'", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
