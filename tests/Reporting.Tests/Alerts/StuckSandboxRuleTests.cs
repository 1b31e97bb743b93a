using BackupDr.Reporting.Alerts;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Drills;

namespace BackupDr.Reporting.Tests.Alerts;

public sealed class StuckSandboxRuleTests
{
    private const string Namespace = "backupdr-drill-acme-prod-0123456789ab";
    private static readonly DateTimeOffset Now = AlertRulesTests.Now;

    [Fact]
    public void Merge_DrillCleanupErrorAndStuckNamespace_OneFiringVerdictWithBoth()
    {
        var state = State(cleanupError: $"namespace {Namespace} is still Terminating 00:03:00 after its deletion");
        var sweep = Sweep(stuck: [$"{Namespace}: still Terminating since ..."], present: [Namespace]);

        var cleanup = Cleanup(StuckSandboxRule.Merge(Evaluate(state), [state], sweep, Now)).ShouldHaveSingleItem();

        cleanup.Firing.ShouldBeTrue();
        cleanup.Details.ShouldContain("is still Terminating 00:03:00 after its deletion");
        cleanup.Details.ShouldContain("still Terminating since");
    }

    [Fact]
    public void Merge_StuckNamespaceAndCleanDrill_Fires()
    {
        var state = State(cleanupError: null);

        var cleanup = Cleanup(StuckSandboxRule.Merge(Evaluate(state), [state], Sweep(stuck: ["bdr-x: could not be deleted (403 Forbidden)"], present: ["bdr-x"]), Now))
            .ShouldHaveSingleItem();

        cleanup.Firing.ShouldBeTrue();
        cleanup.Details.ShouldBe("bdr-x: could not be deleted (403 Forbidden)");
    }

    [Fact]
    public void Merge_DrillCleanupErrorButSweepNoLongerSeesTheNamespace_Clear()
    {
        var state = State(cleanupError: $"namespace {Namespace} is still Terminating 00:03:00 after its deletion");

        var cleanup = Cleanup(StuckSandboxRule.Merge(Evaluate(state), [state], Sweep(stuck: [], present: []), Now)).ShouldHaveSingleItem();

        cleanup.Firing.ShouldBeFalse();
        cleanup.Summary.ShouldBe($"Sandbox namespace {Namespace} is gone.");
    }

    [Fact]
    public void Merge_LocalDrillCleanupErrorButSweepNoLongerSeesTheFolder_Clear()
    {
        var state = State(cleanupError: "sandbox sbx-20261123T120000000Z-abcdef: could not stop its server", kind: "local", id: "sbx-20261123T120000000Z-abcdef");

        Cleanup(StuckSandboxRule.Merge(Evaluate(state), [state], Sweep(stuck: [], present: ["sbx-20261123T120000000Z-abcdef"]), Now))
            .ShouldHaveSingleItem().Firing.ShouldBeTrue("the folder is still there");
        var cleanup = Cleanup(StuckSandboxRule.Merge(Evaluate(state), [state], Sweep(stuck: [], present: []), Now)).ShouldHaveSingleItem();

        cleanup.Firing.ShouldBeFalse();
        cleanup.Summary.ShouldBe("Sandbox sbx-20261123T120000000Z-abcdef is gone.");
    }

    [Fact]
    public void Merge_DrillCleanupErrorAndNamespaceStillDeleting_StillFires()
    {
        var state = State(cleanupError: $"namespace {Namespace} is still Terminating 00:03:00 after its deletion");

        Cleanup(StuckSandboxRule.Merge(Evaluate(state), [state], Sweep(stuck: [], present: [Namespace]), Now)).ShouldHaveSingleItem().Firing.ShouldBeTrue();
    }

    [Fact]
    public void Merge_NoSweepKnownYet_DropsClearVerdictKeepsFiringOnes()
    {
        var clean = State(cleanupError: null);
        var failed = State(cleanupError: "namespace x could not be deleted");

        Cleanup(StuckSandboxRule.Merge(Evaluate(clean), [clean], null, Now)).ShouldBeEmpty("an unswept cluster cannot resolve a janitor's incident");
        Cleanup(StuckSandboxRule.Merge(Evaluate(failed), [failed], null, Now)).ShouldHaveSingleItem().Firing.ShouldBeTrue();
    }

    [Fact]
    public void Merge_TargetWithoutDrillAndNothingStuck_ClearVerdictSoAnIncidentCanResolve()
    {
        var state = new TargetState(AlertRulesTests.Target, null, null);

        Cleanup(StuckSandboxRule.Merge(Evaluate(state), [state], Sweep(stuck: [], present: []), Now)).ShouldHaveSingleItem().Firing.ShouldBeFalse();
    }

    private static TargetState State(string? cleanupError, string kind = "kubernetes", string id = Namespace) =>
        new(AlertRulesTests.Target, null, AlertRulesTests.Drill(DrillOutcome.Passed, true, true) with
        {
            Sandbox = new SandboxRecord(kind, id, "15.18") { CleanupError = cleanupError },
        });

    private static IReadOnlyList<RuleVerdict> Evaluate(TargetState state) =>
        AlertRules.Evaluate(new Dictionary<string, Repository.Configuration.TierOptions> { ["gold"] = new() { Retention = new() } }, [state], Now, TimeSpan.FromMinutes(5), Now);

    private static SandboxSweepState Sweep(string[] stuck, string[] present) => new(
        stuck.Length == 0 ? new Dictionary<string, IReadOnlyList<string>>() : new Dictionary<string, IReadOnlyList<string>> { [AlertRulesTests.Target.Name] = stuck },
        present.ToHashSet());

    private static IEnumerable<RuleVerdict> Cleanup(IReadOnlyList<RuleVerdict> verdicts) => verdicts.Where(v => v.Rule == AlertRule.SandboxCleanupFailed);
}
