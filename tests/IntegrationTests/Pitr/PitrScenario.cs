using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Cli;
using BackupDr.BackupWorker.Pitr;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Postgres;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Wal;
using BackupDr.TestSupport;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.IntegrationTests.Pitr;

/// <summary>
/// A PostgreSQL 15 primary of its own (wal_level=replica, track_commit_timestamp on, so each row's commit time is
/// known exactly), the role PITR needs (LOGIN REPLICATION, nothing else), a local repository and a configuration with
/// one PITR target; the archiver runs in-process as the worker runs it. Folders are world-traversable because the
/// restored server (user postgres) runs <c>backupdr wal-fetch</c>, which reads the configuration and the repository.
/// </summary>
internal sealed class PitrScenario : IAsyncDisposable
{
    public const string Target = "acme-prod";
    public const string Passphrase = "correct horse battery staple 42";
    public const string Role = "backupdr_wal";
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private readonly List<PostgresCluster> _restored = [];
    private readonly List<PostgresCluster> _standbys = [];
    private CancellationTokenSource? _archiverStop;
    private Task? _archiver;

    private PitrScenario(string folder, PostgresCluster source)
    {
        Folder = folder;
        Source = source;
        Primary = source;
    }

    public string Folder { get; }

    public PostgresCluster Source { get; }

    /// <summary>The server the target's connection points at: <see cref="Source"/> until <see cref="FailOverAsync"/>.</summary>
    public PostgresCluster Primary { get; private set; }

    /// <summary>What the archivers started by <see cref="StartArchiver"/> logged (level and message), in order.</summary>
    public ConcurrentQueue<string> ArchiverLog { get; } = new();

    public string ConfigPath => Path.Combine(Folder, "backupdr.json");

    public string SourceConnectionString => new NpgsqlConnectionStringBuilder { Host = Primary.Host, Port = Primary.Port, Database = "acme", Username = Role }.ConnectionString;

    public string AdminConnectionString => Primary.ConnectionString("acme").ConnectionString;

    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);

    public static async Task<PitrScenario> CreateAsync(CancellationToken cancellationToken)
    {
        PostgresInstallation.Locate(PostgresFixture.Major).RequireTools("initdb", "pg_ctl", "postgres", "pg_receivewal", "pg_basebackup");
        var folder = Path.Combine(Path.GetTempPath(), "backupdr-tests", "pitr-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
        var source = await PostgresCluster.CreateAsync(PostgresFixture.Major, Path.Combine(folder, "source"), new PostgresClusterOptions
        {
            WalLevel = PostgresWalLevel.Replica,
            Settings = new Dictionary<string, string> { ["track_commit_timestamp"] = "on", ["max_replication_slots"] = "10" },
        }, cancellationToken);
        var scenario = new PitrScenario(folder, source);
        await source.StartAsync(cancellationToken);
        await scenario.AdminAsync("postgres", $"CREATE ROLE {Role} LOGIN REPLICATION; CREATE DATABASE acme OWNER {Role}", cancellationToken);
        await scenario.SqlAsync(
            "CREATE TABLE pitr_move (id bigserial PRIMARY KEY, name text NOT NULL, amount numeric(14,2) NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
            cancellationToken);

        var passphraseFile = Path.Combine(folder, "passphrase");
        await File.WriteAllTextAsync(passphraseFile, Passphrase + "\n", cancellationToken);
        File.SetUnixFileMode(passphraseFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var config = new JsonObject
        {
            ["BackupDr"] = new JsonObject
            {
                ["Repository"] = new JsonObject { ["Kind"] = "Local", ["Path"] = Path.Combine(folder, "repository"), ["PassphraseFile"] = passphraseFile },
                ["Targets"] = new JsonArray(new JsonObject
                {
                    ["Name"] = Target, ["Tenant"] = "acme", ["Environment"] = "production", ["Tier"] = "gold",
                    ["ConnectionString"] = scenario.SourceConnectionString,
                    ["FilestorePath"] = Path.Combine(folder, "filestore"),
                    ["BackupSchedule"] = "0 0 1 * * ?",
                    ["Pitr"] = new JsonObject { ["Enabled"] = true, ["BaseBackupSchedule"] = "0 0 2 ? * SUN", ["FlushInterval"] = "00:00:01", ["RecoveryTimeout"] = "00:02:00" },
                }),
                ["Sandbox"] = new JsonObject { ["Kind"] = "Local", ["WorkPath"] = Path.Combine(folder, "work") },
            },
        };
        await File.WriteAllTextAsync(scenario.ConfigPath, config.ToJsonString(), cancellationToken);
        (await scenario.RunAsync("repo", "init")).ExitCode.ShouldBe(0);
        return scenario;
    }

    /// <summary>A small Odoo demo database in the target's database (for drills: neutralization and probes need Odoo's tables).</summary>
    public Task GenerateOdooAsync(CancellationToken cancellationToken) =>
        OdooDemo.DemoDatabase.GenerateAsync(SourceConnectionString, Path.Combine(Folder, "filestore"), 50, OdooDemo.DemoDatabase.DefaultSeed, cancellationToken);

    /// <summary>
    /// What a drill to now minus the flush interval needs: an Odoo database, the archiver running, a base backup whose
    /// consistent point the archive has passed (the moment must lie after it), then <paramref name="moves"/> moves,
    /// all archived. Returns the base backup (as <c>pitr base-backup --json</c> printed it) and the last move.
    /// </summary>
    public async Task<(JsonObject BaseBackup, (long Id, DateTimeOffset Committed) LastMove)> PrepareDrillAsync(int moves, CancellationToken cancellationToken)
    {
        await GenerateOdooAsync(cancellationToken);
        StartArchiver();
        var baseBackup = await RunJsonAsync("pitr", "base-backup", "--target", Target);
        await WaitUntilCoveredAsync(baseBackup["recoveryPoint"]!.GetValue<DateTimeOffset>().AddSeconds(2), cancellationToken);
        (long Id, DateTimeOffset Committed) last = default;
        for (var i = 0; i < moves; i++)
        {
            last = await InsertMoveAsync($"move {i}", cancellationToken);
        }

        // A drill restores to "now minus the flush interval": wait until that moment lies after the last move, so that
        // the moves are inside what it restores however fast the machine ran them.
        var flush = LoadTarget().Pitr.FlushInterval;
        await WaitUntilCoveredAsync(Later(await SourceNowAsync(cancellationToken), last.Committed + flush + TimeSpan.FromMilliseconds(500)), cancellationToken);
        return (baseBackup, last);
    }

    public TargetOptions LoadTarget() => LoadOptions().Targets[0];

    public BackupDrOptions LoadOptions() => BackupDrConfiguration.Load(CliConfiguration.Build(TestEnvironment.RepositoryRoot, ConfigPath, Variables));

    public Task<CliResult> RunAsync(params string[] args) => CliHarness.RunAsync(Variables, TimeProvider.System, [.. args, "--config", ConfigPath]);

    public async Task<JsonObject> RunJsonAsync(params string[] args)
    {
        var result = await RunAsync([.. args, "--json"]);
        result.ExitCode.ShouldBe(0, result.ToString());
        return result.Json;
    }

    public async Task<BackupRepository> OpenRepositoryAsync(CancellationToken cancellationToken) =>
        await BackupRepository.OpenAsync(ObjectStoreFactory.Create(LoadOptions().Repository), Passphrase, cancellationToken);

    /// <summary>Starts the archiver as the worker runs it (in-process, its own pg_receivewal); a second start is a worker restart.</summary>
    public void StartArchiver()
    {
        _archiverStop = new CancellationTokenSource();
        var stop = _archiverStop.Token;
        _archiver = Task.Run(async () =>
        {
            using var repository = await OpenRepositoryAsync(stop);
            await new WalArchiver(LoadTarget(), Path.Combine(Folder, "work", "pitr-spool"), TimeProvider.System, new RecordingLogger(ArchiverLog))
                .RunAsync(repository.Store, repository.MasterKey, stop);
        }, CancellationToken.None);
    }

    /// <summary>
    /// Waits (bounded) until the archiver fails by itself, as the worker sees it before it starts the archiver again
    /// (<see cref="StartArchiver"/>), and returns the failure.
    /// </summary>
    public async Task<Exception> WaitForArchiverFailureAsync()
    {
        var archiver = _archiver.ShouldNotBeNull();
        await WaitForAsync(() => Task.FromResult(archiver.IsCompleted), "the archiver to fail", CancellationToken.None);
        archiver.IsFaulted.ShouldBeTrue($"the archiver ended as {archiver.Status}, not with a failure");
        var failure = archiver.Exception!.GetBaseException();
        ArchiverLog.Enqueue($"Error: the archiver failed (the worker restarts it): {failure.Message}");
        _archiverStop!.Dispose();
        _archiver = null;
        return failure;
    }

    /// <summary>Stops the archiver as a worker shutdown does (its token cancelled, pg_receivewal killed); a failure it had surfaces here.</summary>
    public async Task StopArchiverAsync()
    {
        if (_archiver is null || _archiverStop is null)
        {
            return;
        }

        await _archiverStop.CancelAsync();
        try
        {
            await _archiver;
        }
        catch (OperationCanceledException)
        {
            // The normal end of a cancelled archiver.
        }
        catch (Exception e)
        {
            // An archiver that failed on its own while the test ran: its log says what it saw.
            throw new InvalidOperationException($"the archiver failed: {e.Message}\nits log:\n{string.Join('\n', ArchiverLog)}", e);
        }

        _archiverStop.Dispose();
        _archiver = null;
    }

    /// <summary>Inserts one account move in its own transaction and returns its id and exact commit time.</summary>
    public async Task<(long Id, DateTimeOffset Committed)> InsertMoveAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(SourceConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var insert = new NpgsqlCommand("INSERT INTO pitr_move (name, amount) VALUES (@name, 100.25) RETURNING id", connection);
        insert.Parameters.AddWithValue("name", name);
        var id = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
        await using var committed = new NpgsqlCommand("SELECT pg_xact_commit_timestamp(xmin) FROM pitr_move WHERE id = @id", connection);
        committed.Parameters.AddWithValue("id", id);
        return (id, new DateTimeOffset((DateTime)(await committed.ExecuteScalarAsync(cancellationToken))!));
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>The source's clock now: every transaction committed so far committed before it.</summary>
    public async Task<DateTimeOffset> SourceNowAsync(CancellationToken cancellationToken) =>
        new((DateTime)(await ScalarAsync(AdminConnectionString, "SELECT clock_timestamp()", cancellationToken))!);

    /// <summary>
    /// The commit time of the source's newest transaction committed before <paramref name="moment"/>: what a restore to
    /// that moment replays last. Not necessarily a move: the archiver's heartbeat commits once per flush interval.
    /// </summary>
    public async Task<DateTimeOffset> LastCommitBeforeAsync(DateTimeOffset moment, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT max(ts) FROM (SELECT pg_xact_commit_timestamp(x::text::xid) AS ts "
            + "FROM generate_series(3, txid_snapshot_xmax(txid_current_snapshot()) - 1) x) c WHERE ts < @moment",
            connection);
        command.Parameters.AddWithValue("moment", moment);
        return new((DateTime)(await command.ExecuteScalarAsync(cancellationToken))!);
    }

    /// <summary>Closes the current WAL segment on the source (after writes: an idle segment is not switched).</summary>
    public Task SwitchWalAsync(CancellationToken cancellationToken) => AdminAsync("acme", "SELECT pg_switch_wal()", cancellationToken);

    /// <summary>The ids of <c>pitr_move</c> in a database, ordered.</summary>
    public static async Task<IReadOnlyList<long>> MoveIdsAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT id FROM pitr_move ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<long>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    /// <summary>Waits (bounded) until the archive covers <paramref name="moment"/>: the archiver's status says so.</summary>
    public async Task WaitUntilCoveredAsync(DateTimeOffset moment, CancellationToken cancellationToken)
    {
        using var repository = await OpenRepositoryAsync(cancellationToken);
        await WaitForAsync(async () => await PitrStatus.ReadAsync(repository.Store, Target, cancellationToken) is { CoveredUntil: { } covered } && covered >= moment,
            $"the archive to cover {moment:O}", cancellationToken);
    }

    /// <summary>Waits (bounded) until the archive holds the whole segment <paramref name="fileName"/>.</summary>
    public async Task WaitUntilArchivedAsync(string fileName, CancellationToken cancellationToken)
    {
        using var repository = await OpenRepositoryAsync(cancellationToken);
        using var key = WalKeys.Derive(repository.MasterKey, Target);
        var archive = new WalArchive(repository.Store, Target, key);
        await WaitForAsync(async () => await archive.FindAsync(fileName, cancellationToken) is { Kind: not WalObjectKind.Partial },
            $"{fileName} to be archived whole", cancellationToken);
    }

    /// <summary>The WAL file the source writes now.</summary>
    public async Task<string> CurrentWalFileAsync(CancellationToken cancellationToken) =>
        (string)(await ScalarAsync(AdminConnectionString, "SELECT pg_walfile_name(pg_current_wal_lsn())", cancellationToken))!;

    public void Track(PostgresCluster restored) => _restored.Add(restored);

    public async Task<PostgresCluster> OpenRestoredAsync(JsonObject restore, CancellationToken cancellationToken)
    {
        var cluster = await PostgresCluster.OpenAsync(Path.GetDirectoryName(restore["dataDirectory"]!.GetValue<string>())!, new PostgresClusterOptions(), cancellationToken);
        _restored.Add(cluster);
        return cluster;
    }

    public string NewDataDirectory() => Path.Combine(Folder, "restored-" + Guid.NewGuid().ToString("N")[..8]);

    public Task SqlAsync(string sql, CancellationToken cancellationToken) => ExecuteAsync(SourceConnectionString, sql, cancellationToken);

    public Task AdminAsync(string database, string sql, CancellationToken cancellationToken) =>
        ExecuteAsync(Primary.ConnectionString(database).ConnectionString, sql, cancellationToken);

    /// <summary>
    /// A streaming standby of <see cref="Source"/> on its own port, made as an operator makes one (<c>pg_basebackup -R</c>;
    /// it has none of the primary's replication slots: pg_basebackup does not copy them), started and streaming.
    /// </summary>
    public async Task<PostgresCluster> CreateStandbyAsync(CancellationToken cancellationToken)
    {
        const string Name = "backupdr_standby";
        var tool = PostgresInstallation.Locate(PostgresFixture.Major).FindTool("pg_basebackup");
        var standby = await PostgresCluster.AdoptAsync(PostgresFixture.Major, Path.Combine(Folder, "standby"), new PostgresClusterOptions
        {
            WalLevel = PostgresWalLevel.Replica,
            Settings = new Dictionary<string, string>
            {
                ["track_commit_timestamp"] = "on",
                ["max_replication_slots"] = "10",

                // AdoptAsync sets the copied postgresql.auto.conf aside (where -R writes primary_conninfo); standby.signal stays.
                ["primary_conninfo"] = $"'host={Source.Host} port={Source.Port} user={Source.Superuser} application_name={Name}'",
            },
        }, (data, _, token) => ChildProcess.RunAsync(new ChildProcessRequest(tool,
            ["--pgdata", data, "--host", Source.Host, "--port", Source.Port.ToString(CultureInfo.InvariantCulture), "--username", Source.Superuser,
             "--no-password", "--checkpoint=fast", "--wal-method=stream", "--write-recovery-conf"]), token), cancellationToken);
        _standbys.Add(standby);

        // The adopted cluster's pg_hba.conf trusts local connections to databases; the archiver also needs replication ones.
        await File.AppendAllTextAsync(Path.Combine(standby.DataDirectory, "pg_hba.conf"), "local replication all trust\nhost replication all 127.0.0.1/32 trust\n", cancellationToken);
        await standby.StartAsync(cancellationToken);
        await WaitForAsync(async () => (long)(await ScalarAsync(Source.ConnectionString().ConnectionString,
                $"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{Name}' AND state = 'streaming'", cancellationToken))! == 1,
            "the standby to stream from the primary", cancellationToken);
        return standby;
    }

    /// <summary>
    /// A failover as an operator (or a cluster manager) runs it: the primary stops (a clean shutdown: its walsenders send
    /// the standby everything first), the standby is promoted to a new timeline, and the target's connection is pointed
    /// at it (here by rewriting the configuration, as an operator edits it; a DNS name or a virtual IP that moves does the
    /// same without an edit). The archiver is not touched: its source went away under it.
    /// </summary>
    public async Task FailOverAsync(PostgresCluster standby, CancellationToken cancellationToken)
    {
        await Source.StopAsync(cancellationToken);
        (await ScalarAsync(standby.ConnectionString().ConnectionString, "SELECT pg_promote(true, 60)", cancellationToken)).ShouldBe(true);
        Primary = standby;
        var config = JsonNode.Parse(await File.ReadAllTextAsync(ConfigPath, cancellationToken))!;
        config["BackupDr"]!["Targets"]![0]!["ConnectionString"] = SourceConnectionString;
        await File.WriteAllTextAsync(ConfigPath, config.ToJsonString(), cancellationToken);
    }

    /// <summary>Evaluates every repository alert rule as the worker's schedule does; returns the newest archive-hole incident.</summary>
    public async Task<Repository.Alerts.Incident?> EvaluateHoleAlertAsync(CancellationToken cancellationToken)
    {
        var options = LoadOptions();
        var loggers = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        await using var access = new BackupWorker.Hosting.RepositoryAccess(options, TimeProvider.System, loggers);
        using var alerts = new BackupWorker.Alerts.WorkerAlerts(options, access, TimeProvider.System, loggers);
        await alerts.EvaluateAllAsync(cancellationToken);
        return await new Repository.Alerts.IncidentLog(access.Store).ReadLatestAsync(Target, Repository.Alerts.AlertRule.PitrArchiveHole, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // A failure the archiver had surfaces here, after the servers below are gone.
            await StopArchiverAsync();
        }
        finally
        {
            foreach (var restored in _restored)
            {
                await restored.DestroyAsync(CancellationToken.None, immediate: true);
            }

            foreach (var standby in _standbys)
            {
                await standby.DestroyAsync(CancellationToken.None, immediate: true);
            }

            await Source.DestroyAsync(CancellationToken.None, immediate: true);
            if (Directory.Exists(Folder))
            {
                Directory.Delete(Folder, recursive: true);
            }
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what, CancellationToken cancellationToken)
    {
        var deadline = TimeProvider.System.GetTimestamp();
        while (!await condition())
        {
            if (TimeProvider.System.GetElapsedTime(deadline) > Timeout)
            {
                throw new TimeoutException($"waited {Timeout} for {what}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var statement in sql.Split("; ", StringSplitOptions.RemoveEmptyEntries))
        {
            await using var command = new NpgsqlCommand(statement, connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    internal static async Task<object?> ScalarAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>The WAL timeline a server writes now.</summary>
    public static async Task<uint> TimelineAsync(string connectionString, CancellationToken cancellationToken) =>
        uint.Parse((string)(await ScalarAsync(connectionString, "SELECT left(pg_walfile_name(pg_current_wal_lsn()), 8)", cancellationToken))!,
            NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    public static string Iso(DateTimeOffset moment) => moment.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private sealed class RecordingLogger(ConcurrentQueue<string> log) : ILogger<WalArchiver>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Enqueue($"{logLevel}: {formatter(state, exception)}");
            }
        }
    }
}
