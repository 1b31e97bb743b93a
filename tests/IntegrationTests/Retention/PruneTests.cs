using BackupDr.IntegrationTests.Backups;
using BackupDr.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.IntegrationTests.Retention;

/// <summary>
/// <c>backupdr prune</c> on real backups: a dry run says what would go and why and deletes nothing; <c>--apply</c>
/// records each deletion in the audit trail, deletes the expired backups (manifest and objects), the orphan folders
/// of interrupted backups and the temporary files of local uploads a killed process left, and keeps the newest.
/// </summary>
public sealed class PruneTests(PostgresFixture postgres) : IAsyncLifetime
{
    private BackupScenario _scenario = null!;

    public async ValueTask InitializeAsync()
    {
        _scenario = await BackupScenario.CreateAsync(postgres, path => Task.FromResult(RepositorySetup.Local(path)), TestContext.Current.CancellationToken);
        await _scenario.RunJsonAsync("repo", "init");
    }

    public ValueTask DisposeAsync() => _scenario.DisposeAsync();

    private Task<CliResult> PruneAsync(TimeProvider time, params string[] args) =>
        CliHarness.RunAsync(_scenario.Variables, time, ["prune", "--config", _scenario.ConfigPath, .. args]);

    private string BackupFolder(string backupId) => Path.Combine(_scenario.LocalRepositoryPath, "targets", BackupScenario.Target, "backups", backupId);

    [Fact]
    public async Task Prune_ThreeBackupsOfOneDayThreeDaysLater_DryRunDeletesNothingApplyKeepsTheNewest()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await _scenario.BackupAsync());
        }

        // An interrupted backup of five days ago: objects without a manifest.
        var orphan = $"{TimeProvider.System.GetUtcNow().AddDays(-5).UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-0a0b0c";
        Directory.CreateDirectory(BackupFolder(orphan));
        await File.WriteAllTextAsync(Path.Combine(BackupFolder(orphan), "database.dump.zst.aesgcm"), "partial", TestContext.Current.CancellationToken);
        var later = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddDays(3));

        // Temporary files of local Puts: one a killed process left two days before the prune, one still being written.
        var abandoned = Path.Combine(BackupFolder(ids[2]), ".~put-0123456789abcdef.tmp");
        var writing = Path.Combine(_scenario.LocalRepositoryPath, "targets", BackupScenario.Target, ".~put-fedcba9876543210.tmp");
        await File.WriteAllTextAsync(abandoned, "half", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(writing, "still going", TestContext.Current.CancellationToken);
        File.SetLastWriteTimeUtc(abandoned, later.GetUtcNow().AddDays(-2).UtcDateTime);
        File.SetLastWriteTimeUtc(writing, later.GetUtcNow().AddMinutes(-1).UtcDateTime);

        var dryRun = await PruneAsync(later, "--json");

        dryRun.ExitCode.ShouldBe(0, dryRun.ToString());
        var plan = dryRun.Json["targets"]!.AsArray().ShouldHaveSingleItem()!;
        var backups = plan["backups"]!.AsArray();
        backups.Select(b => b!["backupId"]!.GetValue<string>()).ShouldBe([ids[2], ids[1], ids[0]]);
        backups.Select(b => b!["keep"]!.GetValue<bool>()).ShouldBe([true, false, false]);
        backups[0]!["reasons"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldContain("newest backup");
        backups[1]!["reasons"]!.AsArray().ShouldHaveSingleItem()!.GetValue<string>().ShouldStartWith("not the newest of a kept day");
        plan["orphans"]!.AsArray().ShouldHaveSingleItem()!["backupId"]!.GetValue<string>().ShouldBe(orphan);
        (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().Count.ShouldBe(3, "a dry run deletes nothing");
        Directory.Exists(BackupFolder(orphan)).ShouldBeTrue();

        var text = await PruneAsync(later, "--target", BackupScenario.Target);
        text.Output.ShouldContain($"delete {ids[1]}");
        text.Output.ShouldContain("dry run: 2 backup(s) and 1 orphan folder(s) would be deleted");

        var applied = await PruneAsync(later, "--apply", "--json");

        applied.ExitCode.ShouldBe(0, applied.ToString());
        (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldHaveSingleItem()!["backupId"]!.GetValue<string>().ShouldBe(ids[2]);
        Directory.EnumerateFiles(BackupFolder(ids[0])).ShouldBeEmpty("manifest and objects are gone");
        Directory.EnumerateFiles(BackupFolder(ids[1])).ShouldBeEmpty();
        Directory.EnumerateFiles(BackupFolder(orphan)).ShouldBeEmpty();
        File.Exists(abandoned).ShouldBeFalse("an upload's temporary file not written for a day is deleted");
        File.Exists(writing).ShouldBeTrue("a temporary file written a minute ago belongs to a running upload");
        (await _scenario.RunJsonAsync("verify", "--target", BackupScenario.Target))["damaged"]!.GetValue<int>().ShouldBe(0, "the kept backup is whole");

        // Each backup was recorded in the audit trail when it was made, and each deletion before it was made.
        var records = Directory.GetFiles(Path.Combine(_scenario.LocalRepositoryPath, "audit")).Order(StringComparer.Ordinal).Select(File.ReadAllText).ToList();
        records.Count(r => r.Contains("\"BackupCreated\"", StringComparison.Ordinal)).ShouldBe(3);
        var audit = records.Where(r => r.Contains("\"BackupPruned\"", StringComparison.Ordinal)).ToList();
        audit.Count.ShouldBe(2);
        audit[0].ShouldContain(ids[1]);
        audit[1].ShouldContain(ids[0]);
    }

    [Fact]
    public async Task Prune_UnknownTarget_ExitsTwo()
    {
        var result = await PruneAsync(TimeProvider.System, "--target", "nope");

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("no target named 'nope'");
    }
}
