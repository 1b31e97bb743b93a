using BackupDr.Repository.Wal;
using static BackupDr.Repository.Tests.Retention.PitrRetentionPlannerTests;

namespace BackupDr.Repository.Tests.Wal;

public sealed class WalContinuityTests
{
    [Fact]
    public async Task Spans_HoleAfterTheFirstBaseBackup_FirstEndsAtTheHoleAndTheNextRunsToCoveredUntil()
    {
        // Segments 0x10..0x2F archived except 0x18..0x19; base backups start at 0x10 (10 days ago) and 0x20 (3 days ago).
        var bases = new[] { Base(10, 0x10), Base(3, 0x20) };
        var listing = Listing([.. Enumerable.Range(0x10, 0x20).Where(s => s is not (0x18 or 0x19)).Select(s => Segment(1, (ulong)s))]);
        var chain = await WalChain.CheckAsync(listing, WalSegmentName.Parse(bases[0].Pitr!.StartSegment, WalSegmentName.DefaultSegmentSizeBytes),
            WalSegmentName.DefaultSegmentSizeBytes, _ => Task.FromResult(""));
        var holeAt = Now.AddDays(-8);
        var continuity = new WalContinuity(bases, chain, holeAt, bases[1]);
        var coveredUntil = Now.AddSeconds(-20);

        var spans = continuity.Spans(coveredUntil);

        continuity.FirstGap.ShouldNotBeNull().FirstMissing.ShouldBe(Name(1, 0x18));
        spans.ShouldBe([new RestorableSpan(bases[0].RecoveryPoint, holeAt), new RestorableSpan(bases[1].RecoveryPoint, coveredUntil)]);
    }

    [Fact]
    public async Task Spans_ContinuousArchive_EveryBaseBackupRunsToCoveredUntilAndNoBaseBackupMeansNothing()
    {
        var bases = new[] { Base(10, 0x10), Base(3, 0x20) };
        var listing = Listing([.. Enumerable.Range(0x10, 0x20).Select(s => Segment(1, (ulong)s))]);
        var chain = await WalChain.CheckAsync(listing, WalSegmentName.Parse(bases[0].Pitr!.StartSegment, WalSegmentName.DefaultSegmentSizeBytes),
            WalSegmentName.DefaultSegmentSizeBytes, _ => Task.FromResult(""));
        var coveredUntil = Now.AddSeconds(-20);

        new WalContinuity(bases, chain, null, null).Spans(coveredUntil).Select(s => s.To).ShouldBe([coveredUntil, coveredUntil]);
        new WalContinuity([], null, null, null).Spans(coveredUntil).ShouldBeEmpty();
    }
}
