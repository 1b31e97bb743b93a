using BackupDr.DrillRunner.Drills;
using BackupDr.DrillRunner.Probes;
using BackupDr.Repository.Drills;

namespace BackupDr.DrillRunner.Tests.Drills;

/// <summary>Outcome rules: critical failures fail the drill, everything else that falls short only partially fails it.</summary>
public sealed class DrillVerdictTests
{
    private static readonly ObjectiveRecord Met = new(60, 3600, true, null);

    private static ProbeRecord Probe(string name, bool critical, ProbeStatus status) => new(name, critical, status, 0.1, status.ToString());

    [Fact]
    public void Decide_AllPassedAndTargetsMet_Passes()
    {
        var (outcome, reasons) = DrillVerdict.Decide(null, [Probe("ledger", true, ProbeStatus.Passed), Probe("attachments", true, ProbeStatus.Skipped)], Met, Met);

        outcome.ShouldBe(DrillOutcome.Passed);
        reasons.ShouldBeEmpty();
    }

    [Fact]
    public void Decide_CriticalProbeFailed_Fails()
    {
        var (outcome, reasons) = DrillVerdict.Decide(null, [Probe("ledger", true, ProbeStatus.Failed), Probe("recency", false, ProbeStatus.Failed)],
            new ObjectiveRecord(null, 3600, false, "not achieved"), Met);

        outcome.ShouldBe(DrillOutcome.Failed);
        reasons.ShouldBe(["critical probe ledger failed: Failed", "non-critical probe recency failed: Failed"]);
    }

    [Fact]
    public void Decide_NonCriticalProbeFailed_PartiallyFails()
    {
        var (outcome, _) = DrillVerdict.Decide(null, [Probe("ledger", true, ProbeStatus.Passed), Probe("recency", false, ProbeStatus.Failed)], Met, Met);

        outcome.ShouldBe(DrillOutcome.PartiallyFailed);
    }

    [Fact]
    public void Decide_RtoAndRpoMissed_PartiallyFailsNamingBoth()
    {
        var (outcome, reasons) = DrillVerdict.Decide(null, [Probe("ledger", true, ProbeStatus.Passed)],
            new ObjectiveRecord(5400, 3600, false, null), new ObjectiveRecord(90061, 86400, false, null));

        outcome.ShouldBe(DrillOutcome.PartiallyFailed);
        reasons.ShouldBe(["achieved RTO 01:30:00 exceeds the tier's 01:00:00", "achieved RPO 1.01:01:01 exceeds the tier's 1.00:00:00"]);
    }

    [Fact]
    public void Decide_RpoNotJudgedForAnOlderBackup_DoesNotCount()
    {
        var (outcome, _) = DrillVerdict.Decide(null, [Probe("ledger", true, ProbeStatus.Passed)], Met, new ObjectiveRecord(999999, 3600, null, "older"));

        outcome.ShouldBe(DrillOutcome.Passed);
    }

    [Fact]
    public void Decide_DrillStoppedWithError_Fails()
    {
        var (outcome, reasons) = DrillVerdict.Decide("pg_restore failed", [], new ObjectiveRecord(null, 3600, false, null), Met);

        outcome.ShouldBe(DrillOutcome.Failed);
        reasons.ShouldBe(["the drill stopped: pg_restore failed"]);
    }

    [Theory]
    [InlineData(null, "null")]
    [InlineData(true, "true")]
    [InlineData(12.50, "12.5")]
    [InlineData(42L, "42")]
    [InlineData("EUR", "EUR")]
    public void Format_SqlValues_AsOperatorsWriteThem(object? value, string expected) =>
        SqlProbe.Format(value is double d ? (decimal)d : value).ShouldBe(expected);
}
