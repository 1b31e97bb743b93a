using BackupDr.Repository.Drills;
using BackupDr.Repository.Wal;

namespace BackupDr.IntegrationTests.Pitr;

/// <summary>Retention of base backups and WAL (prune, dry run and --apply) on a real archive of a PostgreSQL 15 primary.</summary>
public sealed class PitrPruneTests
{
    [Fact]
    public async Task Prune_BaseBackupOlderThanTheWindow_KeptWhileADrillUsesItThenDeletedWithTheWalOnlyItNeeded()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);

        // A window of one second: the newest base backup is the one that restores its first moments; the older one expires.
        scenario.Variables["BackupDr__Tiers__gold__Retention__PitrWindow"] = "00:00:01";
        scenario.StartArchiver();
        var firstBackup = await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        var first = firstBackup["backupId"]!.GetValue<string>();
        var firstStart = firstBackup["startSegment"]!.GetValue<string>();
        for (var i = 0; i < 3; i++)
        {
            await scenario.InsertMoveAsync($"move {i}", cancellationToken);
            await scenario.SwitchWalAsync(cancellationToken);
        }

        var second = await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        var secondId = second["backupId"]!.GetValue<string>();
        await scenario.InsertMoveAsync("after the second base backup", cancellationToken);
        await scenario.WaitUntilCoveredAsync((await scenario.SourceNowAsync(cancellationToken)).AddSeconds(1), cancellationToken);
        var keepFrom = second["startSegment"]!.GetValue<string>();

        // The archive stands still from here on, so that what prune leaves can be compared with what was there.
        await scenario.StopArchiverAsync();
        var before = await SegmentsAsync(scenario, cancellationToken);
        before.Any(s => Before(s, keepFrom)).ShouldBeTrue();

        var dryRun = (await scenario.RunJsonAsync("prune", "--target", PitrScenario.Target))["targets"]![0]!["pitr"]!;
        var decisions = dryRun["baseBackups"]!.AsArray();
        decisions.Single(d => d!["backupId"]!.GetValue<string>() == first)!["keep"]!.GetValue<bool>().ShouldBeFalse();
        decisions.Single(d => d!["backupId"]!.GetValue<string>() == first)!["reasons"]![0]!.GetValue<string>().ShouldContain(secondId);
        dryRun["wal"]!["keepFrom"]!.GetValue<string>().ShouldBe(keepFrom);
        dryRun["wal"]!["objects"]!.GetValue<int>().ShouldBePositive();
        (await SegmentsAsync(scenario, cancellationToken)).ShouldBe(before);

        // An open drill restoring from the old base backup keeps it and every segment it needs.
        using (var repository = await scenario.OpenRepositoryAsync(cancellationToken))
        {
            await using var lease = await DrillLease.OpenAsync(
                repository.Store, PitrScenario.Target, BackupDr.Repository.Backups.BackupId.New(TimeProvider.System).Value, first, "test drill", TimeProvider.System, cancellationToken);
            var held = (await scenario.RunJsonAsync("prune", "--target", PitrScenario.Target, "--apply"))["targets"]![0]!["pitr"]!;
            held["baseBackups"]!.AsArray().ShouldAllBe(d => d!["keep"]!.GetValue<bool>());
            held["wal"]!["keepFrom"]!.GetValue<string>().ShouldBe(firstStart);
            (await SegmentsAsync(scenario, cancellationToken)).ShouldBe(before.Where(s => !Before(s, firstStart)));
        }

        var applied = (await scenario.RunJsonAsync("prune", "--target", PitrScenario.Target, "--apply"))["targets"]![0]!;
        applied["deletedBytes"]!.GetValue<long>().ShouldBePositive();
        using (var repository = await scenario.OpenRepositoryAsync(cancellationToken))
        {
            (await BaseBackups.ListAsync(repository.Store, PitrScenario.Target, cancellationToken)).Select(b => b.BackupId).ShouldBe([secondId]);
            var left = 0;
            await foreach (var entry in repository.Store.ListAsync($"targets/{PitrScenario.Target}/pitr/base/{first}/", cancellationToken))
            {
                left++;
            }

            left.ShouldBe(0, "the expired base backup's tar goes with its manifest");
        }

        var after = await SegmentsAsync(scenario, cancellationToken);
        after.Any(s => Before(s, keepFrom)).ShouldBeFalse();
        after.ShouldContain(keepFrom);
        (await scenario.RunJsonAsync("verify", "--target", PitrScenario.Target, "--wal"))["gaps"]!.AsArray().ShouldBeEmpty();
        var audit = await scenario.RunJsonAsync("audit", "verify");
        audit["problems"]?.AsArray().ShouldBeEmpty();
    }

    /// <summary>Whether a segment lies before another (segment number only: the timeline is the first 8 digits).</summary>
    private static bool Before(string segment, string other) => string.CompareOrdinal(segment[8..], other[8..]) < 0;

    /// <summary>The WAL segment file names the archive holds (whole or partial).</summary>
    private static async Task<IReadOnlyList<string>> SegmentsAsync(PitrScenario scenario, CancellationToken cancellationToken)
    {
        using var repository = await scenario.OpenRepositoryAsync(cancellationToken);
        using var key = WalKeys.Derive(repository.MasterKey, PitrScenario.Target);
        var listing = await new WalArchive(repository.Store, PitrScenario.Target, key).ListAsync(cancellationToken);
        return listing.Objects.Where(o => o.Kind != WalObjectKind.History).Select(o => o.FileName).Distinct().Order(StringComparer.Ordinal).ToList();
    }
}
