using System.Globalization;
using System.Text.Json.Nodes;
using BackupDr.TestSupport;
using Npgsql;

namespace BackupDr.IntegrationTests.Worker;

/// <summary>
/// Fleet mode, honestly: two real <c>backupdr run</c> processes sharing Quartz's clustered job store in the test
/// PostgreSQL, 200 targets whose backups all come due at one instant. Every backup trigger fires on exactly one
/// replica (each target ends with exactly one backup, both replicas take part), and after one replica is killed with
/// SIGKILL in the middle of its backups, the other recovers the interrupted firings and finishes the work.
/// </summary>
[Collection(nameof(FleetModeTests))]
public sealed class FleetModeTests(PostgresFixture postgres) : IAsyncLifetime
{
    private const int Targets = 200;
    private const string Passphrase = "correct horse battery staple 42";
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    private readonly string _folder = Directory.CreateTempSubdirectory("backupdr-fleet-").FullName;
    private TestDatabase _source = null!;
    private TestDatabase _quartz = null!;

    private string RepositoryPath => Path.Combine(_folder, "repository");

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        _source = await postgres.CreateDatabaseAsync(cancellationToken);
        _quartz = await postgres.CreateDatabaseAsync(cancellationToken);
        await using var connection = new NpgsqlConnection(_source.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("CREATE TABLE ledger (id int PRIMARY KEY, amount numeric); INSERT INTO ledger SELECT g, g * 1.5 FROM generate_series(1, 100) g", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await postgres.DropDatabaseAsync(_source.Name, CancellationToken.None);
        await postgres.DropDatabaseAsync(_quartz.Name, CancellationToken.None);
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>200 targets on one small database, every backup due once, at <paramref name="due"/> (a cron with its year).</summary>
    private string WriteConfig(DateTimeOffset due)
    {
        var passphraseFile = Path.Combine(_folder, "passphrase");
        File.WriteAllText(passphraseFile, Passphrase);
        Directory.CreateDirectory(Path.Combine(_folder, "filestore")); // the small source database references no file
        var cron = string.Create(CultureInfo.InvariantCulture, $"{due.Second} {due.Minute} {due.Hour} {due.Day} {due.Month} ? {due.Year}");
        var config = new JsonObject
        {
            ["BackupDr"] = new JsonObject
            {
                ["Repository"] = new JsonObject { ["Kind"] = "Local", ["Path"] = RepositoryPath, ["PassphraseFile"] = passphraseFile },
                ["Targets"] = new JsonArray(Enumerable.Range(0, Targets).Select(i => (JsonNode)new JsonObject
                {
                    ["Name"] = $"tenant-{i:000}", ["Tenant"] = $"tenant-{i:000}", ["Environment"] = "production", ["Tier"] = "gold",
                    ["ConnectionString"] = _source.ConnectionString,
                    ["FilestorePath"] = Path.Combine(_folder, "filestore"),
                    ["BackupSchedule"] = cron,
                }).ToArray()),
                ["Sandbox"] = new JsonObject { ["Kind"] = "Local", ["WorkPath"] = Path.Combine(_folder, "sandboxes") },
                ["Scheduler"] = new JsonObject
                {
                    ["Clustered"] = true,
                    ["ConnectionString"] = _quartz.ConnectionString,
                    ["MaxConcurrentBackups"] = 4,
                    ["MaxConcurrentJobsPerReplica"] = 2,
                    ["ClusterCheckinInterval"] = "00:00:01",
                    ["ClusterCheckinMisfireThreshold"] = "00:00:05",
                    ["HeartbeatInterval"] = "00:00:05",
                    ["MisfireThreshold"] = "00:05:00",
                    ["ShutdownTimeout"] = "00:00:10",
                },
            },
        };
        var path = Path.Combine(_folder, "backupdr.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    private Dictionary<string, int> ManifestsPerTarget() =>
        Directory.Exists(Path.Combine(RepositoryPath, "targets"))
            ? Directory.EnumerateFiles(Path.Combine(RepositoryPath, "targets"), "manifest.json", SearchOption.AllDirectories)
                .GroupBy(f => Path.GetRelativePath(Path.Combine(RepositoryPath, "targets"), f).Split(Path.DirectorySeparatorChar)[0])
                .ToDictionary(g => g.Key, g => g.Count())
            : [];

    private static bool Started(string line, string target, bool recovering) =>
        line.Contains("\"Name\":\"LogStarted\"", StringComparison.Ordinal)
        && line.Contains($"\"Target\":\"{target}\"", StringComparison.Ordinal)
        && line.Contains($"\"Recovering\":{(recovering ? "true" : "false")}", StringComparison.Ordinal);

    [Fact]
    public async Task Run_TwoReplicas200Targets_EachTriggerFiresOnceAndTheSurvivorFinishesAKilledReplicasWork()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // Each replica stores 400 triggers in the shared store at start-up (about 15 s here): the one instant every
        // backup is due must come after both are up, since a cron whose only instant has passed never fires.
        var due = TimeProvider.System.GetUtcNow().AddSeconds(60);
        var configPath = WriteConfig(due);
        (await CliHarness.RunAsync(new Dictionary<string, string>(), TimeProvider.System, "repo", "init", "--config", configPath, "--json")).ExitCode.ShouldBe(0);

        await using var a = WorkerProcess.Start(configPath, new Dictionary<string, string> { ["BackupDr__Scheduler__InstanceId"] = "node-a" });
        await using var b = WorkerProcess.Start(configPath, new Dictionary<string, string> { ["BackupDr__Scheduler__InstanceId"] = "node-b" });
        foreach (var node in new[] { a, b })
        {
            await node.WaitForLineAsync(l => l.Contains("\"Name\":\"LogRegistered\"", StringComparison.Ordinal), Patience, cancellationToken);
        }

        TimeProvider.System.GetUtcNow().ShouldBeLessThan(due, "both replicas must have registered the schedule before the backups come due");

        // Both replicas back up side by side until a quarter of the fleet is done.
        await Eventually.HoldsAsync(() => Task.FromResult(ManifestsPerTarget().Count >= Targets / 4), Patience,
            () => $"{ManifestsPerTarget().Count} targets backed up:\nnode-a:\n{a.Log}\nnode-b:\n{b.Log}", cancellationToken);
        a.Lines.Count(l => l.Contains("\"Name\":\"LogCompleted\"", StringComparison.Ordinal)).ShouldBeGreaterThan(0, "node-a took part");
        b.Lines.Count(l => l.Contains("\"Name\":\"LogCompleted\"", StringComparison.Ordinal)).ShouldBeGreaterThan(0, "node-b took part");

        // Then a lock holds every new pg_dump back, so that the replica killed below certainly has backups in flight.
        await using var locker = new NpgsqlConnection(_source.ConnectionString);
        await locker.OpenAsync(cancellationToken);
        var hold = await locker.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE", locker, hold))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        // Kill -9 whichever replica first streams a backup that started after the lock was granted (blocked, mid-way).
        var seen = new[] { a, b }.ToDictionary(w => w, w => w.Lines.Count);
        WorkerProcess? victim = null;
        await Eventually.HoldsAsync(() =>
        {
            victim = new[] { a, b }.FirstOrDefault(w => w.Lines.Skip(seen[w]).Any(l => l.Contains("streaming snapshot", StringComparison.Ordinal)));
            return Task.FromResult(victim is not null);
        }, Patience, () => $"no backup started after the lock:\nnode-a:\n{a.Log}\nnode-b:\n{b.Log}", cancellationToken);
        victim!.KillHard();
        await victim.WaitForExitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        var survivor = victim == a ? b : a;
        var committed = victim.Lines.Where(l => l.Contains("\"Name\":\"LogCompleted\"", StringComparison.Ordinal)).ToList();
        var committedByVictim = Enumerable.Range(0, Targets).Select(i => $"tenant-{i:000}")
            .Where(t => committed.Any(l => l.Contains($"\"Target\":\"{t}\"", StringComparison.Ordinal)))
            .ToHashSet(StringComparer.Ordinal);
        var inFlight = Enumerable.Range(0, Targets).Select(i => $"tenant-{i:000}")
            .Where(t => victim.Lines.Any(l => Started(l, t, recovering: false)) && !committedByVictim.Contains(t))
            .ToList();
        inFlight.ShouldNotBeEmpty();

        await hold.RollbackAsync(cancellationToken);
        await Eventually.HoldsAsync(
            () => Task.FromResult(ManifestsPerTarget().Count == Targets),
            Patience,
            () => $"{ManifestsPerTarget().Count} of {Targets} targets backed up; survivor log:\n{survivor.Log}",
            cancellationToken);

        // The interrupted firings ran again on the survivor, as recoveries.
        foreach (var target in inFlight)
        {
            await survivor.WaitForLineAsync(l => Started(l, target, recovering: true), Patience, cancellationToken);
        }

        await survivor.TerminateAsync(cancellationToken);
        (await survivor.WaitForExitAsync(TimeSpan.FromSeconds(30), cancellationToken)).ExitCode.ShouldBe(0, survivor.Log);

        var manifests = ManifestsPerTarget();
        manifests.Count.ShouldBe(Targets);
        manifests.Where(m => m.Value != 1).ShouldBeEmpty("every trigger fired once: one backup per target, none twice");
        foreach (var target in manifests.Keys)
        {
            // One firing per target, started on either replica. The survivor re-runs a firing of the killed replica
            // once: one it had in flight; possibly one it had just committed (the re-run finds the backup and stops);
            // or one it had taken in the instant between Quartz recording the firing and the job logging its start,
            // which then shows only as the recovery.
            var firings = a.Lines.Concat(b.Lines).Count(l => Started(l, target, recovering: false));
            var recoveries = survivor.Lines.Count(l => Started(l, target, recovering: true));
            var once = firings == 0 ? recoveries == 1
                : firings == 1 && (inFlight.Contains(target) ? recoveries == 1
                    : recoveries == 0 || (recoveries == 1 && committedByVictim.Contains(target)));
            once.ShouldBeTrue($"{target} fired {firings} times and was recovered {recoveries} times");
        }

        Directory.GetFiles(Path.Combine(RepositoryPath, "service", "heartbeat"), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .ShouldBe(["node-a.json", "node-b.json"]);
    }
}

/// <summary>The fleet test runs alone: two replicas and 200 backups are the whole machine's work for a minute.</summary>
[CollectionDefinition(nameof(FleetModeTests), DisableParallelization = true)]
public sealed class FleetModeRunsAlone;
