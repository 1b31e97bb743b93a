using System.Globalization;
using System.Text;
using BackupDr.Repository.Postgres;
using Npgsql;
using Xunit;

namespace BackupDr.TestSupport;

/// <summary>A database made for one test (class); dropped with the whole cluster at the end of the run.</summary>
public sealed record TestDatabase(string Name, string ConnectionString);

/// <summary>
/// One throwaway PostgreSQL cluster per test assembly process, in its own temp folder on its own free port,
/// so several test assemblies can run at once. Register with
/// <c>[assembly: AssemblyFixture(typeof(PostgresFixture))]</c> and take it in a test class constructor.
/// </summary>
/// <remarks>
/// Initialisation never throws: a missing PostgreSQL or a failed start is recorded, and
/// <see cref="CreateDatabaseAsync"/> reports it from the test that needs the server (skip on a developer machine
/// when binaries are missing, failure under CI or when the server itself failed), so tests that need no database
/// still run. Clusters left behind by a crashed run (their owner process is gone) are stopped and deleted at start.
/// </remarks>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const int Major = 15;

    private static readonly string Parent = Path.Combine(Path.GetTempPath(), "backupdr-tests");
    private PostgresCluster? _cluster;
    private string? _missing;
    private Exception? _failure;
    private int _databases;

    internal PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The PostgreSQL fixture did not start.");

    public string Host => Cluster.Host;

    public int Port => Cluster.Port;

    public string SocketDirectory => Cluster.SocketDirectory;

    public string Superuser => Cluster.Superuser;

    /// <summary>The folder holding this major's binaries (pg_dump, pg_restore, psql...).</summary>
    public string BinDirectory => Cluster.BinDirectory;

    /// <summary>The superuser's connection string to the <c>postgres</c> maintenance database.</summary>
    public string AdminConnectionString => Cluster.ConnectionString().ConnectionString;

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        try
        {
            PostgresInstallation.Locate(Major).RequireTools("initdb", "pg_ctl", "postgres", "psql", "pg_dump", "pg_restore");
        }
        catch (PostgresToolMissingException ex)
        {
            _missing = ex.Message;
            return;
        }

        try
        {
            await ReapOrphansAsync(cancellationToken);
            var root = Path.Combine(Parent, $"pg-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}"[..24]);
            _cluster = await PostgresCluster.CreateAsync(Major, root, new PostgresClusterOptions(), cancellationToken);
            await _cluster.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Recorded, not thrown: an assembly fixture that throws fails every test, even those needing no database.
            _failure = ex;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Skips (or fails under CI) when PostgreSQL is missing; fails when the server did not start.</summary>
    public void EnsureAvailable()
    {
        if (_missing is not null)
        {
            TestEnvironment.Unavailable($"PostgreSQL {Major}", _missing);
        }

        if (_failure is not null)
        {
            throw new InvalidOperationException($"The PostgreSQL {Major} test cluster failed to start: {_failure.Message}", _failure);
        }
    }

    /// <summary>Creates an empty database (UTF8, from template0) with a name unique in this run.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        EnsureAvailable();
        var name = UniqueName();
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return new TestDatabase(name, ConnectionString(name));
    }

    /// <summary>Drops a database, disconnecting its sessions first.</summary>
    public async Task DropDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        EnsureAvailable();
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {SqlIdentifier.Quote(name)} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The superuser's connection string to <paramref name="database"/>.</summary>
    public string ConnectionString(string database) => Cluster.ConnectionString(database).ConnectionString;

    private string UniqueName()
    {
        var prefix = new StringBuilder();
        foreach (var c in TestContext.Current.TestClass?.TestClassSimpleName ?? "test")
        {
            if (prefix.Length < 40 && char.IsAsciiLetterOrDigit(c))
            {
                prefix.Append(char.ToLowerInvariant(c));
            }
        }

        var n = Interlocked.Increment(ref _databases);
        return string.Create(CultureInfo.InvariantCulture, $"t_{prefix}_{n}_{Guid.NewGuid():N}")[..Math.Min(63, prefix.Length + 20)];
    }

    private static async Task ReapOrphansAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Parent))
        {
            return;
        }

        foreach (var dir in Directory.EnumerateDirectories(Parent, "pg-*"))
        {
            var parts = Path.GetFileName(dir).Split('-');
            if (parts.Length < 3 || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid) || Directory.Exists($"/proc/{pid}"))
            {
                continue;
            }

            try
            {
                if (File.Exists(Path.Combine(dir, PostgresCluster.StateFileName)))
                {
                    var orphan = await PostgresCluster.OpenAsync(dir, new PostgresClusterOptions(), cancellationToken);
                    await orphan.DestroyAsync(cancellationToken);
                }
                else
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Loop boundary: an orphan we cannot clean (e.g. another user's) must not stop this run's tests.
                Console.Error.WriteLine($"PostgresFixture: could not clean up {dir}: {ex.Message}");
            }
        }
    }
}
