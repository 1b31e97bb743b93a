using System.Globalization;
using BackupDr.Repository.Postgres;
using BackupDr.TestSupport;
using Npgsql;

namespace BackupDr.IntegrationTests.Postgres;

/// <summary>Each test runs its own cluster (not the shared fixture's), in a temp folder deleted afterwards.</summary>
public sealed class PostgresClusterTests(PostgresFixture postgres) : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "backupdr-tests", "c-" + Guid.NewGuid().ToString("N")[..12]);

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task CreateAsync_Started_AnswersQueriesAndDisposeDeletesFolder()
    {
        postgres.EnsureAvailable();
        var ct = TestContext.Current.CancellationToken;
        var cluster = await PostgresCluster.CreateAsync(PostgresFixture.Major, _root, new PostgresClusterOptions(), ct);
        await using (cluster)
        {
            await cluster.StartAsync(ct);

            (await ScalarAsync(cluster, "SELECT current_setting('server_version_num')", ct)).ShouldStartWith("15");
            (await ScalarAsync(cluster, "SELECT current_setting('archive_mode')", ct)).ShouldBe("off");
            (await ScalarAsync(cluster, "SELECT current_setting('wal_level')", ct)).ShouldBe("minimal");
            (await ScalarAsync(cluster, "SELECT current_setting('data_checksums')", ct)).ShouldBe("on");
            (await ScalarAsync(cluster, "SELECT current_setting('listen_addresses')", ct)).ShouldBe("127.0.0.1");
            (await ScalarAsync(cluster, "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate FROM pg_database WHERE datname = 'postgres'", ct))
                .ShouldBe("UTF8 C.UTF-8");
            (await cluster.IsRunningAsync(ct)).ShouldBeTrue();
            Directory.Exists(cluster.SocketDirectory).ShouldBeTrue();
        }

        Directory.Exists(_root).ShouldBeFalse();
        await Should.ThrowAsync<NpgsqlException>(() => ScalarAsync(cluster, "SELECT 1", ct));
    }

    [Fact]
    public async Task StartAsync_AlreadyRunning_ReusesServer()
    {
        postgres.EnsureAvailable();
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await PostgresCluster.CreateAsync(PostgresFixture.Major, _root, new PostgresClusterOptions(), ct);
        await cluster.StartAsync(ct);
        var pid = await ScalarAsync(cluster, "SELECT pg_postmaster_start_time()::text", ct);

        await cluster.StartAsync(ct);

        (await ScalarAsync(cluster, "SELECT pg_postmaster_start_time()::text", ct)).ShouldBe(pid);
    }

    [Fact]
    public async Task OpenOrCreateAsync_ExistingStoppedCluster_ReopensWithItsData()
    {
        postgres.EnsureAvailable();
        var ct = TestContext.Current.CancellationToken;
        var options = new PostgresClusterOptions { Persistent = true };
        await using (var first = await PostgresCluster.OpenOrCreateAsync(PostgresFixture.Major, _root, options, ct))
        {
            await first.StartAsync(ct);
            await ScalarAsync(first, "CREATE TABLE survivor AS SELECT 42 AS answer", ct);
            await first.StopAsync(ct);
            (await first.IsRunningAsync(ct)).ShouldBeFalse();
        }

        var again = await PostgresCluster.OpenOrCreateAsync(PostgresFixture.Major, _root, options, ct);
        try
        {
            await again.StartAsync(ct);
            (await ScalarAsync(again, "SELECT answer::text FROM survivor", ct)).ShouldBe("42");
        }
        finally
        {
            await again.DestroyAsync(ct);
        }

        Directory.Exists(_root).ShouldBeFalse();
    }

    [Fact]
    public async Task StartAsync_StalePidFileFromCrash_RemovesItAndStarts()
    {
        postgres.EnsureAvailable();
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await PostgresCluster.CreateAsync(PostgresFixture.Major, _root, new PostgresClusterOptions(), ct);
        await cluster.StartAsync(ct);
        var pidFile = Path.Combine(cluster.DataDirectory, "postmaster.pid");
        var lines = await File.ReadAllLinesAsync(pidFile, ct);
        await cluster.StopAsync(ct);
        lines[0] = DeadPid().ToString(CultureInfo.InvariantCulture);
        await File.WriteAllLinesAsync(pidFile, lines, ct);

        await cluster.StartAsync(ct);

        (await ScalarAsync(cluster, "SELECT 'up'", ct)).ShouldBe("up");
    }

    [Fact]
    public async Task CreateAsync_FolderNotEmpty_Refuses()
    {
        postgres.EnsureAvailable();
        Directory.CreateDirectory(_root);
        await File.WriteAllTextAsync(Path.Combine(_root, "precious.txt"), "keep me", TestContext.Current.CancellationToken);

        var ex = await Should.ThrowAsync<InvalidOperationException>(() =>
            PostgresCluster.OpenOrCreateAsync(PostgresFixture.Major, _root, new PostgresClusterOptions(), TestContext.Current.CancellationToken));

        ex.Message.ShouldContain(_root);
        File.Exists(Path.Combine(_root, "precious.txt")).ShouldBeTrue();
    }

    [Fact]
    public async Task Fixture_CreateDatabaseAsync_GivesDistinctWorkingDatabases()
    {
        var ct = TestContext.Current.CancellationToken;
        var a = await postgres.CreateDatabaseAsync(ct);
        var b = await postgres.CreateDatabaseAsync(ct);

        a.Name.ShouldNotBe(b.Name);
        await using var connection = new NpgsqlConnection(a.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT current_database()", connection);
        (await command.ExecuteScalarAsync(ct)).ShouldBe(a.Name);
    }

    private static int DeadPid()
    {
        for (var pid = 4_000_000; ; pid--)
        {
            if (!Directory.Exists($"/proc/{pid}"))
            {
                return pid;
            }
        }
    }

    private static async Task<string?> ScalarAsync(PostgresCluster cluster, string sql, CancellationToken ct)
    {
        var builder = cluster.ConnectionString();
        builder.Pooling = false;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return (await command.ExecuteScalarAsync(ct))?.ToString();
    }
}
