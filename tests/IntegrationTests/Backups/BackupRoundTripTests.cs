using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Backups;

/// <summary>
/// The whole chain on each store: init, backup, list, verify, restore into a new database, and every table of the
/// restored copy equal to the source's (row count and content fingerprint).
/// </summary>
public abstract class BackupRoundTripTests(PostgresFixture postgres)
{
    private protected abstract Task<RepositorySetup> RepositoryAsync(string localPath, CancellationToken cancellationToken);

    [Fact]
    public async Task BackupThenRestore_EveryTableIsEqualToTheSource()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await BackupScenario.CreateAsync(postgres, path => RepositoryAsync(path, cancellationToken), cancellationToken);

        (await scenario.RunJsonAsync("repo", "init"))["kdf"]!.GetValue<string>().ShouldBe("PBKDF2-SHA256, 600000 iterations");
        var backup = await scenario.RunJsonAsync("backup", "--target", BackupScenario.Target);
        var backupId = backup["backupId"]!.GetValue<string>();

        var listed = (await scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldHaveSingleItem()!;
        listed["backupId"]!.GetValue<string>().ShouldBe(backupId);
        var recoveryPoint = listed["recoveryPoint"]!.GetValue<DateTimeOffset>();
        recoveryPoint.ShouldBeGreaterThanOrEqualTo(backup["startedAt"]!.GetValue<DateTimeOffset>());
        recoveryPoint.ShouldBeLessThanOrEqualTo(backup["completedAt"]!.GetValue<DateTimeOffset>());
        listed["odooVersion"]!.GetValue<string>().ShouldStartWith("17.0");

        (await scenario.RunJsonAsync("verify", "--target", BackupScenario.Target, "--backup", backupId))["damaged"]!.GetValue<int>().ShouldBe(0);

        var into = scenario.NewDatabase();
        var restored = await scenario.RunJsonAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--into", into);
        restored["checked"]!.GetValue<bool>().ShouldBeTrue();
        restored["differences"]!.AsArray().ShouldBeEmpty();

        var expected = await BackupScenario.FingerprintAllTablesAsync(scenario.Source.ConnectionString, cancellationToken);
        var actual = await BackupScenario.FingerprintAllTablesAsync(into, cancellationToken);
        expected.Count.ShouldBeGreaterThan(10);
        actual.ShouldBe(expected);
    }
}

public sealed class LocalBackupRoundTripTests(PostgresFixture postgres) : BackupRoundTripTests(postgres)
{
    private protected override Task<RepositorySetup> RepositoryAsync(string localPath, CancellationToken cancellationToken) =>
        Task.FromResult(RepositorySetup.Local(localPath));
}

public sealed class S3BackupRoundTripTests(PostgresFixture postgres, S3rverFixture s3) : BackupRoundTripTests(postgres)
{
    private protected override Task<RepositorySetup> RepositoryAsync(string localPath, CancellationToken cancellationToken) =>
        RepositorySetup.S3Async(s3, cancellationToken);
}

public sealed class AzureBackupRoundTripTests(PostgresFixture postgres, AzuriteFixture azure) : BackupRoundTripTests(postgres)
{
    private protected override Task<RepositorySetup> RepositoryAsync(string localPath, CancellationToken cancellationToken) =>
        RepositorySetup.AzureAsync(azure, cancellationToken);
}
