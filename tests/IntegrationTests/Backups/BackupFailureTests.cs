using BackupDr.BackupWorker.Backups;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using BackupDr.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BackupDr.IntegrationTests.Backups;

/// <summary>
/// A backup that fails, is cancelled or is killed leaves no manifest: list never shows it, and the next backup
/// succeeds. Every failure exits 1 with one clear line.
/// </summary>
public sealed class BackupFailureTests(PostgresFixture postgres) : IAsyncLifetime
{
    private BackupScenario _scenario = null!;

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        _scenario = await BackupScenario.CreateAsync(postgres, path => Task.FromResult(RepositorySetup.Local(path)), cancellationToken, scale: 3000);
        await _scenario.RunJsonAsync("repo", "init");
    }

    public ValueTask DisposeAsync() => _scenario.DisposeAsync();

    private async Task ShouldHaveNoBackupThenBackUpAsync()
    {
        (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldBeEmpty();
        var backupId = await _scenario.BackupAsync();
        (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldHaveSingleItem()!["backupId"]!.GetValue<string>().ShouldBe(backupId);
    }

    private IEnumerable<string> VisibleObjects() =>
        Directory.EnumerateFiles(_scenario.LocalRepositoryPath, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_scenario.LocalRepositoryPath, f))
            .Where(f => !Path.GetFileName(f).StartsWith(".~", StringComparison.Ordinal));

    [Fact]
    public async Task Backup_PgDumpFails_ExitsOneWithItsErrorAndCommitsNothing()
    {
        // A role that may read the key tables (the evidence) but not ir_cron: pg_dump fails part-way.
        var cancellationToken = TestContext.Current.CancellationToken;
        var role = "limited_" + Guid.NewGuid().ToString("N")[..8];
        await using (var connection = new NpgsqlConnection(_scenario.Source.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(
                $"CREATE ROLE {role} LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}; REVOKE SELECT ON ir_cron FROM {role};",
                connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var limited = new NpgsqlConnectionStringBuilder(_scenario.Source.ConnectionString) { Username = role }.ConnectionString;
        var config = await File.ReadAllTextAsync(_scenario.ConfigPath, cancellationToken);
        await File.WriteAllTextAsync(_scenario.ConfigPath, config.Replace(_scenario.Source.ConnectionString, limited, StringComparison.Ordinal), cancellationToken);

        var failed = await _scenario.RunAsync("backup", "--target", BackupScenario.Target);

        failed.ExitCode.ShouldBe(1, failed.ToString());
        failed.Error.ShouldContain("pg_dump failed with exit code 1");
        failed.Error.ShouldContain("permission denied for table ir_cron");
        VisibleObjects().ShouldBe(["repository.json"], "the partial dump is removed, and no manifest was written");
        await File.WriteAllTextAsync(_scenario.ConfigPath, config, cancellationToken);
        await ShouldHaveNoBackupThenBackUpAsync();
    }

    [Fact]
    public async Task Backup_StoreFailsMidUpload_CommitsNothing()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var faulty = new FaultyObjectStore(new LocalObjectStore(_scenario.LocalRepositoryPath)) { FailPutAfterBytes = 256 * 1024 };
        using var repository = await BackupRepository.OpenAsync(faulty, BackupScenario.Passphrase, cancellationToken);
        var service = new DatabaseBackupService(TimeProvider.System, new FilestoreOptions(), NullLoggerFactory.Instance);
        var target = _scenario.LoadTarget();

        await Should.ThrowAsync<IOException>(() => service.BackupAsync(repository, target, null, cancellationToken));

        VisibleObjects().ShouldBe(["repository.json"]);
        await ShouldHaveNoBackupThenBackUpAsync();
    }

    [Fact]
    public async Task Backup_CancelledWhileDumping_StopsPgDumpAndCommitsNothing()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var repository = await BackupRepository.OpenAsync(new LocalObjectStore(_scenario.LocalRepositoryPath), BackupScenario.Passphrase, cancellationToken);
        var service = new DatabaseBackupService(TimeProvider.System, new FilestoreOptions(), NullLoggerFactory.Instance);
        var target = _scenario.LoadTarget();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        // Cancel as soon as the first bytes of the dump have gone into the pipeline, as SIGTERM would.
        var progress = new SynchronousProgress<BackupProgress>(_ => cancel.Cancel());
        await Should.ThrowAsync<OperationCanceledException>(() => service.BackupAsync(repository, target, progress, cancel.Token));

        VisibleObjects().ShouldBe(["repository.json"]);
        (await RemainingBackupConnectionsAsync(cancellationToken)).ShouldBe(0, "pg_dump and the snapshot connection are gone");
        await ShouldHaveNoBackupThenBackUpAsync();
    }

    /// <summary>
    /// Starts <c>backupdr backup</c> as a process while a lock holds pg_dump back, and returns once its log says pg_dump
    /// streams under the snapshot: the backup is certainly mid-way (snapshot open, upload begun, nothing committed).
    /// Disposing the returned lock lets pg_dump go on.
    /// </summary>
    private async Task<(System.Diagnostics.Process Process, NpgsqlTransaction Lock)> StartBlockedBackupAsync(CancellationToken cancellationToken)
    {
        var locker = new NpgsqlConnection(_scenario.Source.ConnectionString);
        await locker.OpenAsync(cancellationToken);
        var hold = await locker.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("LOCK TABLE ir_cron IN ACCESS EXCLUSIVE MODE", locker, hold))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var process = CliHarness.Start(
            new Dictionary<string, string> { ["BackupDr__Logging__Json"] = "true" },
            "backup", "--target", BackupScenario.Target, "--config", _scenario.ConfigPath);
        string? line;
        do
        {
            line = await process.StandardError.ReadLineAsync(cancellationToken);
        }
        while (line is not null && !line.Contains("streaming snapshot", StringComparison.Ordinal));

        line.ShouldNotBeNull("the backup ended before pg_dump started streaming");
        return (process, hold);
    }

    [Fact]
    public async Task Backup_ProcessKilledMidUpload_LeavesNoBackupAndTheNextOneSucceeds()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var (process, hold) = await StartBlockedBackupAsync(cancellationToken);
        using (process)
        await using (hold.Connection)
        await using (hold)
        {
            process.Kill(entireProcessTree: false);
            await process.WaitForExitAsync(cancellationToken);
            process.ExitCode.ShouldBe(137, "killed with SIGKILL");
        }

        (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldBeEmpty();
        VisibleObjects().ShouldAllBe(f => f == "repository.json" || !f.EndsWith("manifest.json", StringComparison.Ordinal));
        await ShouldHaveNoBackupThenBackUpAsync();
    }

    [Fact]
    public async Task Backup_Sigterm_ExitsOneStopsPgDumpAndCommitsNothing()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var (process, hold) = await StartBlockedBackupAsync(cancellationToken);
        using (process)
        await using (hold.Connection)
        await using (hold)
        {
            await TerminateAsync(process.Id, cancellationToken);

            (await FailedRunAsync(process, cancellationToken)).ShouldContain("nothing was committed");
            (await RemainingBackupConnectionsAsync(cancellationToken)).ShouldBe(0, "pg_dump and its server session were stopped with the backup");
        }

        VisibleObjects().ShouldBe(["repository.json"]);
        await ShouldHaveNoBackupThenBackUpAsync();
    }

    [Fact]
    public async Task Backup_SourceGoesAway_ExitsOneAndCommitsNothing()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var (process, hold) = await StartBlockedBackupAsync(cancellationToken);
        using (process)
        await using (hold.Connection)
        await using (hold)
        {
            // The source server drops every connection of the backup, as in a failover or a crash.
            await using (var admin = new NpgsqlConnection(postgres.AdminConnectionString))
            {
                await admin.OpenAsync(cancellationToken);
                await using var terminate = new NpgsqlCommand(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = @db AND (application_name = 'backupdr' OR application_name LIKE 'backupdr pg_dump %')", admin);
                terminate.Parameters.AddWithValue("db", _scenario.Source.Name);
                ((long)(await terminate.ExecuteScalarAsync(cancellationToken))!).ShouldBeGreaterThan(0);
            }

            (await FailedRunAsync(process, cancellationToken)).ShouldContain("was not committed");
        }

        VisibleObjects().ShouldBe(["repository.json"]);
        await ShouldHaveNoBackupThenBackUpAsync();
    }

    /// <summary>
    /// The backup's server sessions still open after at most 10 s: a backend leaves pg_stat_activity a moment after its
    /// client hung up (PostgreSQL notices the closed socket asynchronously), so the count is polled, not read once.
    /// </summary>
    private async Task<long> RemainingBackupConnectionsAsync(CancellationToken cancellationToken)
    {
        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        long count;
        while ((count = await CountBackupConnectionsAsync(cancellationToken)) > 0 && clock.GetElapsedTime(started) < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), clock, cancellationToken);
        }

        return count;
    }

    private async Task<long> CountBackupConnectionsAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(postgres.AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE (application_name = 'backupdr' OR application_name LIKE 'backupdr pg_dump %') AND datname = @db", connection);
        command.Parameters.AddWithValue("db", _scenario.Source.Name);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Waits for a backup process that must fail: exit code 1; returns what it wrote on standard error.</summary>
    private static async Task<string> FailedRunAsync(System.Diagnostics.Process process, CancellationToken cancellationToken)
    {
        var error = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        process.ExitCode.ShouldBe(1, error);
        return error;
    }

    private static async Task TerminateAsync(int processId, CancellationToken cancellationToken)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", processId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(cancellationToken);
        kill.ExitCode.ShouldBe(0);
    }
}
