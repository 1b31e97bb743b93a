using System.Text.Json.Nodes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.IntegrationTests.Drills;
using BackupDr.Repository.Postgres;
using BackupDr.TestSupport;
using Npgsql;

namespace BackupDr.IntegrationTests.Worker;

/// <summary>
/// <c>backupdr run</c> as a real process on the scenario's database: a missed backup runs once at start-up, the
/// endpoints serve health and metrics, a restart seeds the metrics from the repository, and SIGTERM in the middle of
/// a backup cancels it (pg_dump stopped, nothing committed) and exits within the shutdown timeout. Its logs are JSON
/// lines on standard output, each event of a job run carrying the run's scope (target, job, backup id). SIGTERM in the
/// middle of a drill tears its sandbox down and leaves neither record nor lease.
/// </summary>
public sealed class WorkerRunTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(15);

    private BackupScenario _scenario = null!;

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        _scenario = await BackupScenario.CreateAsync(postgres, path => Task.FromResult(RepositorySetup.Local(path)), cancellationToken);
        await _scenario.RunJsonAsync("repo", "init");
    }

    public ValueTask DisposeAsync() => _scenario.DisposeAsync();

    private WorkerProcess StartWorker(string logLevel = "Information") => WorkerProcess.Start(_scenario.ConfigPath, new Dictionary<string, string>(_scenario.Variables)
    {
        ["BackupDr__Scheduler__ShutdownTimeout"] = ShutdownTimeout.ToString("c"),
        ["BackupDr__Scheduler__HeartbeatInterval"] = "00:00:02",
        ["BackupDr__Logging__MinimumLevel"] = logLevel,
    });

    private static string MetricLine(string metrics, string family) =>
        metrics.Split('\n').SingleOrDefault(l => l.StartsWith(family + "{target=\"" + BackupScenario.Target + "\"", StringComparison.Ordinal))
        ?? throw new ShouldAssertException($"no {family} sample for {BackupScenario.Target} in:\n{metrics}");

    [Fact]
    public async Task Run_NoBackupYet_BacksUpOnceAtStartServesMetricsAndSeedsThemAfterARestart()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        string lastSuccess;

        // Debug: the filestore phase logs events that do not name the backup, so the scope is what gives them its id.
        await using (var worker = StartWorker("Debug"))
        {
            await worker.WaitForLineAsync(l => l.Contains("Backup of {Target} committed", StringComparison.Ordinal), Patience, cancellationToken);
            worker.Log.ShouldNotContain("No drill service is bound in this build");

            (await worker.GetAsync("/healthz", cancellationToken)).ShouldBe((200, "ok\n"));
            var ready = JsonNode.Parse(await worker.WaitForOkAsync("/readyz", Patience, cancellationToken))!;
            ready["scheduler"]!.GetValue<string>().ShouldBe("Running");
            ready["repository"]!.GetValue<string>().ShouldBe("reachable");

            var (_, metrics) = await worker.GetAsync("/metrics", cancellationToken);
            lastSuccess = MetricLine(metrics, "backupdr_backup_last_success_timestamp_seconds");
            MetricLine(metrics, "backupdr_backup_last_size_bytes").ShouldNotEndWith(" 0");
            metrics.ShouldContain("backupdr_jobs_running{kind=\"backup\"} 0");
            metrics.ShouldNotContain("backupdr_achieved_rto_seconds{", customMessage: "no drill ran: an unknown value is left out, not reported as 0");
            Directory.GetFiles(Path.Combine(_scenario.LocalRepositoryPath, "service", "heartbeat"), "*.json").ShouldHaveSingleItem();

            await worker.TerminateAsync(cancellationToken);
            var (exitCode, error) = await worker.WaitForExitAsync(ShutdownTimeout, cancellationToken);
            exitCode.ShouldBe(0, worker.Log);
            error.ShouldBeEmpty("backupdr run logs to standard output");

            // Standard output: one JSON object per line, the logs and then the command's result.
            var lines = worker.Lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            lines[^1]["stopped"]!.GetValue<bool>().ShouldBeTrue();
            lines[^1]["ok"]!.GetValue<bool>().ShouldBeTrue();
            var backupId = (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldHaveSingleItem()!["backupId"]!.GetValue<string>();
            var ofTheBackup = lines.Where(l => l["BackupId"]?.GetValue<string>() == backupId).ToList();
            ofTheBackup.Select(l => l["@mt"]!.GetValue<string>()).ShouldContain(t => t.StartsWith("Backup of {Target} committed", StringComparison.Ordinal));
            ofTheBackup.ShouldContain(l => !l["@mt"]!.GetValue<string>().Contains("{BackupId}", StringComparison.Ordinal),
                "the scope gives the backup id to events whose message does not name it");
            foreach (var line in ofTheBackup)
            {
                line["Target"]!.GetValue<string>().ShouldBe(BackupScenario.Target, line.ToJsonString());
                line["Job"]!.GetValue<string>().ShouldBe("backup", line.ToJsonString());
                line["FireInstanceId"].ShouldNotBeNull(line.ToJsonString());
            }
        }

        // Restarted before the next slot: no backup is owed, and the metrics come from the repository at once.
        await using (var again = StartWorker())
        {
            await again.WaitForOkAsync("/readyz", Patience, cancellationToken);
            var (_, metrics) = await again.GetAsync("/metrics", cancellationToken);
            MetricLine(metrics, "backupdr_backup_last_success_timestamp_seconds").ShouldBe(lastSuccess);
            again.Log.ShouldNotContain("catch-up");
            await again.TerminateAsync(cancellationToken);
            (await again.WaitForExitAsync(ShutdownTimeout, cancellationToken)).ExitCode.ShouldBe(0, again.Log);
        }

        (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldHaveSingleItem();
    }

    [Fact]
    public async Task Run_SigtermDuringABackup_CancelsItCommitsNothingAndExitsWithinTheShutdownTimeout()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        // A lock holds pg_dump back: once it streams under the snapshot, the backup is certainly mid-way.
        await using var locker = new NpgsqlConnection(_scenario.Source.ConnectionString);
        await locker.OpenAsync(cancellationToken);
        await using var hold = await locker.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("LOCK TABLE ir_cron IN ACCESS EXCLUSIVE MODE", locker, hold))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var worker = StartWorker())
        {
            await worker.WaitForLineAsync(l => l.Contains("streaming snapshot", StringComparison.Ordinal), Patience, cancellationToken);
            await worker.TerminateAsync(cancellationToken);
            var (exitCode, _) = await worker.WaitForExitAsync(ShutdownTimeout, cancellationToken);

            exitCode.ShouldBe(0, worker.Log);
            worker.Log.ShouldContain("cancelled by shutdown; nothing was committed");
            worker.Log.ShouldContain("was not committed");
        }

        (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldBeEmpty();
        Directory.EnumerateFiles(_scenario.LocalRepositoryPath, "manifest.json", SearchOption.AllDirectories).ShouldBeEmpty();
        await using var admin = new NpgsqlConnection(postgres.AdminConnectionString);
        await admin.OpenAsync(cancellationToken);
        await using var sessions = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = @db AND (application_name = 'backupdr' OR application_name LIKE 'backupdr pg_dump %')", admin);
        sessions.Parameters.AddWithValue("db", _scenario.Source.Name);
        ((long)(await sessions.ExecuteScalarAsync(cancellationToken))!).ShouldBe(0, "pg_dump and the snapshot session ended with the job");
    }

    [Fact]
    public async Task Run_SigtermDuringADrill_CancelsItLeavesNoSandboxProcessRecordOrLeaseAndExitsWithinTheShutdownTimeout()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var backupId = await _scenario.BackupAsync();

        await using var worker = WorkerProcess.Start(_scenario.ConfigPath, new Dictionary<string, string>(_scenario.Variables)
        {
            ["BackupDr__Scheduler__ShutdownTimeout"] = ShutdownTimeout.ToString("c"),
            ["BackupDr__Targets__0__DrillSchedule"] = "0/2 * * * * ?",
        });

        // The drill is held mid-way by a lock on one of the tables it restores (pg_restore's COPY or index build, the
        // neutralization and the probes all wait on it): once the lock is granted, the drill cannot finish.
        await using var holder = await LockRestoredTableAsync(worker, cancellationToken);
        var started = JsonNode.Parse(await worker.WaitForLineAsync(l => l.Contains("starts with backup", StringComparison.Ordinal), Patience, cancellationToken))!;
        started["Job"]!.GetValue<string>().ShouldBe("drill");
        started["Target"]!.GetValue<string>().ShouldBe(BackupScenario.Target);
        started["BackupId"]!.GetValue<string>().ShouldBe(backupId);
        var drillId = started["DrillId"]!.GetValue<string>();
        (await _scenario.KeysAsync($"targets/{BackupScenario.Target}/drills/", cancellationToken)).ShouldBe(
            [$"targets/{BackupScenario.Target}/drills/open/{drillId}.json"], "only the open drill's lease exists while it runs");

        await worker.TerminateAsync(cancellationToken);
        var (exitCode, error) = await worker.WaitForExitAsync(ShutdownTimeout, cancellationToken);

        exitCode.ShouldBe(0, worker.Log);
        error.ShouldBeEmpty();
        var lines = worker.Lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        lines.ShouldContain(l => l["@mt"]!.GetValue<string>().StartsWith("Drill {DrillId} of {Target} was cancelled", StringComparison.Ordinal)
            && l["DrillId"]!.GetValue<string>() == drillId && l["BackupId"]!.GetValue<string>() == backupId, worker.Log);
        lines.ShouldContain(l => l["@mt"]!.GetValue<string>().Contains("cancelled by shutdown", StringComparison.Ordinal)
            && l["Job"]!.GetValue<string>() == "drill", worker.Log);

        // Nothing is left: no sandbox folder, no sandbox server or pg_restore, no record, no lease, no temporary object.
        DrillHarness.Leftovers(_scenario).ShouldBeEmpty();
        DrillHarness.ProcessesMentioning(_scenario.SandboxPath).ShouldBeEmpty();
        (await _scenario.KeysAsync($"targets/{BackupScenario.Target}/drills/", cancellationToken)).ShouldBeEmpty();
        (await _scenario.RunJsonAsync("list"))["drills"]!.AsArray().ShouldBeEmpty();
        Directory.EnumerateFiles(_scenario.LocalRepositoryPath, ".*", SearchOption.AllDirectories).ShouldBeEmpty();
        Directory.GetFiles(Path.Combine(_scenario.LocalRepositoryPath, "audit")).Select(File.ReadAllText)
            .ShouldNotContain(r => r.Contains("\"DrillRecorded\"", StringComparison.Ordinal));
        (await _scenario.RunJsonAsync("audit", "verify"))["ok"]!.GetValue<bool>().ShouldBeTrue();
    }

    /// <summary>
    /// Waits for the drill's sandbox server and restored database, then takes an ACCESS EXCLUSIVE lock on <c>ir_cron</c>
    /// in an open transaction and returns the connection that holds it (the sandbox's teardown ends that session).
    /// </summary>
    private async Task<NpgsqlConnection> LockRestoredTableAsync(WorkerProcess worker, CancellationToken cancellationToken)
    {
        NpgsqlConnection? held = null;
        await Eventually.HoldsAsync(async () =>
        {
            var cluster = Directory.Exists(_scenario.SandboxPath)
                ? Directory.EnumerateFiles(_scenario.SandboxPath, PostgresCluster.StateFileName, SearchOption.AllDirectories).FirstOrDefault()
                : null;
            if (cluster is null)
            {
                return false;
            }

            // cluster.json (the port the server listens on) is read here without touching the cluster.
            JsonNode state;
            try
            {
                state = JsonNode.Parse(await File.ReadAllTextAsync(cluster, cancellationToken))!;
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or IOException)
            {
                // Being written or already removed: looked at again.
                return false;
            }

            var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = state["Port"]!.GetValue<int>(),
                Username = state["Superuser"]!.GetValue<string>(),
                Database = _scenario.Source.Name,
                Pooling = false,
            }.ConnectionString);
            try
            {
                await connection.OpenAsync(cancellationToken);
                await using var exists = new NpgsqlCommand("SELECT to_regclass('ir_cron') IS NOT NULL", connection);
                if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
                {
                    await connection.DisposeAsync();
                    return false;
                }

                await using var lockTable = new NpgsqlCommand("BEGIN; LOCK TABLE ir_cron IN ACCESS EXCLUSIVE MODE", connection);
                await lockTable.ExecuteNonQueryAsync(cancellationToken);
                held = connection;
                return true;
            }
            catch (NpgsqlException)
            {
                // Not there yet: the server is starting or the database is being created. Tried again.
                await connection.DisposeAsync();
                return false;
            }
        }, Patience, () => $"the drill's sandbox never had a restored ir_cron to lock:\n{worker.Log}", cancellationToken);
        return held!;
    }
}
