using BackupDr.BackupWorker.Backups;
using BackupDr.Repository.Backups;
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
        var service = new DatabaseBackupService(TimeProvider.System, NullLogger<DatabaseBackupService>.Instance);
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
        var service = new DatabaseBackupService(TimeProvider.System, NullLogger<DatabaseBackupService>.Instance);
        var target = _scenario.LoadTarget();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        // Cancel as soon as the first bytes of the dump have gone into the pipeline, as SIGTERM would.
        var progress = new SynchronousProgress<BackupProgress>(_ => cancel.Cancel());
        await Should.ThrowAsync<OperationCanceledException>(() => service.BackupAsync(repository, target, progress, cancel.Token));

        VisibleObjects().ShouldBe(["repository.json"]);
        (await CountBackupConnectionsAsync(cancellationToken)).ShouldBe(0, "pg_dump and the snapshot connection are gone");
        await ShouldHaveNoBackupThenBackUpAsync();
    }

    [Fact]
    public async Task Backup_ProcessKilledMidUpload_LeavesNoBackupAndTheNextOneSucceeds()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // Hold a lock that pg_dump must wait for: the backup is certainly mid-way (snapshot open, upload begun) when killed.
        await using var locker = new NpgsqlConnection(_scenario.Source.ConnectionString);
        await locker.OpenAsync(cancellationToken);
        await using var hold = await locker.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("LOCK TABLE ir_cron IN ACCESS EXCLUSIVE MODE", locker, hold))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        using var process = CliHarness.Start(
            new Dictionary<string, string> { ["BackupDr__Logging__Json"] = "true" },
            "backup", "--target", BackupScenario.Target, "--config", _scenario.ConfigPath);
        // Kill when the log says pg_dump streams under the snapshot: the upload has begun, nothing is committed.
        string? line;
        do
        {
            line = await process.StandardError.ReadLineAsync(cancellationToken);
        }
        while (line is not null && !line.Contains("streaming snapshot", StringComparison.Ordinal));

        line.ShouldNotBeNull("the backup ended before pg_dump started streaming");
        var exited = process.WaitForExitAsync(cancellationToken);
        process.Kill(entireProcessTree: false);
        await exited;
        await hold.RollbackAsync(cancellationToken);

        process.ExitCode.ShouldBe(137, "killed with SIGKILL");
        (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldBeEmpty();
        VisibleObjects().ShouldAllBe(f => f == "repository.json" || !f.EndsWith("manifest.json", StringComparison.Ordinal));
        await ShouldHaveNoBackupThenBackUpAsync();
    }

    private async Task<long> CountBackupConnectionsAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(postgres.AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('backupdr', 'pg_dump') AND datname = @db", connection);
        command.Parameters.AddWithValue("db", _scenario.Source.Name);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
