using System.Text;
using BackupDr.BackupWorker.Hosting;
using BackupDr.BackupWorker.Tests.Cli;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using BackupDr.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.BackupWorker.Tests.Hosting;

public sealed class ConfigurationAuditTests
{
    private const string Passphrase = "configuration audit passphrase";

    [Fact]
    public async Task RecordIfChangedAsync_SameConfigurationTwiceThenAChange_RecordsTheFirstAndTheChangeOnly()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = new InMemoryObjectStore();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
        await BackupRepository.InitializeAsync(store, Passphrase, time, ct);
        using var repository = await BackupRepository.OpenAsync(store, Passphrase, ct);
        var options = Load(CliRunner.ValidConfig);
        var changed = Load(CliRunner.ValidConfig.Replace("\"0 0 1 * * ?\"", "\"0 0 2 * * ?\"", StringComparison.Ordinal));

        (await ConfigurationAudit.RecordIfChangedAsync(repository, options, time, ct)).ShouldBeTrue();
        (await ConfigurationAudit.RecordIfChangedAsync(repository, options, time, ct)).ShouldBeFalse();
        (await ConfigurationAudit.RecordIfChangedAsync(repository, changed, time, ct)).ShouldBeTrue();

        using var trail = new AuditTrail(store, repository.MasterKey, time);
        var records = (await trail.VerifyAsync(ct)).Records;
        records.Select(r => r.Kind).ShouldBe([AuditEventKind.ConfigurationChanged, AuditEventKind.ConfigurationChanged]);
        records[1].Details["previous"].ShouldBe(records[0].Subject);
        records[1].Subject.ShouldNotBe(records[0].Subject);
    }

    private static BackupDrOptions Load(string json)
    {
        // As the CLI layers them: the repository's appsettings.json (tiers), then the file.
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(TestEnvironment.RepositoryRoot, "appsettings.json"))
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)))
            .Build();
        var (options, errors) = BackupDrConfiguration.TryLoad(configuration);
        errors.ShouldBeEmpty();
        return options!;
    }
}
