using BackupDr.OdooDemo;
using BackupDr.TestSupport;
using Npgsql;

namespace BackupDr.IntegrationTests.Demo;

public sealed class DemoEnvironmentTests(PostgresFixture postgres) : IAsyncDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "backupdr-tests", "demo-" + Guid.NewGuid().ToString("N")[..12]);

    public async ValueTask DisposeAsync() => await DemoEnvironment.DownAsync(_dataDir, purge: true, CancellationToken.None);

    [Fact]
    public async Task UpAsync_RunTwice_GeneratesOnceThenReusesAndDownPurges()
    {
        postgres.EnsureAvailable();
        var ct = TestContext.Current.CancellationToken;

        var first = await DemoEnvironment.UpAsync(_dataDir, 100, DemoDatabase.DefaultSeed, ct);
        var second = await DemoEnvironment.UpAsync(_dataDir, 100, DemoDatabase.DefaultSeed, ct);

        first.Reused.ShouldBeFalse();
        second.Reused.ShouldBeTrue();
        second.ConnectionString.ShouldBe(first.ConnectionString);
        second.ConnectionString.ShouldNotContain("Password", Case.Insensitive);
        Directory.EnumerateFiles(first.Filestore, "*", SearchOption.AllDirectories).Count().ShouldBe(first.Summary.FilestoreFiles);
        await using (var connection = new NpgsqlConnection(second.ConnectionString))
        {
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SELECT count(*) FROM account_move", connection);
            (await command.ExecuteScalarAsync(ct)).ShouldBe(100L);
        }

        await Should.ThrowAsync<InvalidOperationException>(() => DemoEnvironment.UpAsync(_dataDir, 200, DemoDatabase.DefaultSeed, ct));

        (await DemoEnvironment.DownAsync(_dataDir, purge: true, ct)).ShouldBeTrue();
        Directory.Exists(_dataDir).ShouldBeFalse();
    }
}
