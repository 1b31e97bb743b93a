using System.Text.Json.Nodes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.IntegrationTests.Drills;
using BackupDr.Repository.Drills;
using BackupDr.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.IntegrationTests.Retention;

/// <summary>
/// Retention against a drill that another instance runs (fleet mode: the drill on one replica, prune on another, each
/// with its own store and no shared memory): the drill's lease in the repository keeps its backup while it restores;
/// an expired lease keeps nothing; the lease is gone once the drill has written its record.
/// </summary>
public sealed class OpenDrillRetentionTests(PostgresFixture postgres) : DrillScenarioTests(postgres)
{
    private Task<CliResult> PruneAsync(TimeProvider time, params string[] args) =>
        CliHarness.RunAsync(Scenario.Variables, time, ["prune", "--config", Scenario.ConfigPath, "--json", .. args]);

    private static Dictionary<string, JsonObject> Decisions(CliResult prune) =>
        prune.Json["targets"]!.AsArray().ShouldHaveSingleItem()!["backups"]!.AsArray()
            .ToDictionary(b => b!["backupId"]!.GetValue<string>(), b => b!.AsObject());

    [Fact]
    public async Task Prune_BackupRestoredByADrillElsewhere_IsKeptUntilTheDrillEndsAndAnExpiredLeaseKeepsNothing()
    {
        // Retention lets every backup but the newest of the day go at once.
        Scenario.Variables["BackupDr__Tiers__gold__Retention__KeepWithin"] = "00:00:01";
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await Scenario.BackupAsync());
        }

        string? leaseKey = null;
        CliResult? applied = null;
        CliResult? afterExpiry = null;
        var observer = new TestDrillObserver
        {
            OnSandboxReady = async (_, _, _) =>
            {
                // The drill of ids[0] holds here, restored and not yet probed, while prune runs in "another replica".
                leaseKey = (await Scenario.KeysAsync(DrillLease.Prefix(BackupScenario.Target), Token)).ShouldHaveSingleItem();
                afterExpiry = await PruneAsync(new FakeTimeProvider(TimeProvider.System.GetUtcNow() + DrillLease.Duration + TimeSpan.FromMinutes(1)));
                applied = await PruneAsync(TimeProvider.System, "--apply");
            },
        };

        var record = await DrillHarness.RunAsync(Scenario, observer, Token, backup: ids[0]);

        record.Outcome.ShouldBe(DrillOutcome.Passed, string.Join("; ", record.Reasons));
        record.BackupId.ShouldBe(ids[0]);
        leaseKey.ShouldNotBeNull("the drill reached its sandbox-ready point");
        leaseKey.ShouldEndWith($"drills/open/{record.DrillId}.json");

        applied!.ExitCode.ShouldBe(0, applied.ToString());
        var decisions = Decisions(applied);
        decisions[ids[0]]["keep"]!.GetValue<bool>().ShouldBeTrue();
        decisions[ids[0]]["reasons"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldContain("used by an open drill");
        decisions[ids[1]]["keep"]!.GetValue<bool>().ShouldBeFalse("retention still applies to backups no drill holds");
        (await Scenario.RunJsonAsync("list"))["backups"]!.AsArray().Select(b => b!["backupId"]!.GetValue<string>())
            .ShouldBe([ids[2], ids[0]], ignoreOrder: true);

        // A reader past the lease's expiry (its holder would be dead) does not let it keep anything.
        afterExpiry!.ExitCode.ShouldBe(0, afterExpiry.ToString());
        Decisions(afterExpiry)[ids[0]]["keep"]!.GetValue<bool>().ShouldBeFalse(afterExpiry.Output);

        (await Scenario.KeysAsync(DrillLease.Prefix(BackupScenario.Target), Token)).ShouldBeEmpty("the lease ends with the drill");
        var again = await PruneAsync(TimeProvider.System);
        Decisions(again)[ids[0]]["reasons"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldNotContain("used by an open drill");
    }
}
