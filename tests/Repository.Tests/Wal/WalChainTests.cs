using BackupDr.Repository.Storage;
using BackupDr.Repository.Wal;

namespace BackupDr.Repository.Tests.Wal;

public sealed class WalChainTests
{
    private const long SegmentSize = WalSegmentName.DefaultSegmentSizeBytes;

    private static ArchivedWal Wal(string file, WalObjectKind kind = WalObjectKind.Segment, string uploaded = "") =>
        new(ObjectKey.Parse($"targets/t/wal/{file[..8]}/{file}.x"), kind, file, uint.Parse(file[..8], System.Globalization.NumberStyles.HexNumber, null), new string('0', 64), 1, uploaded);

    [Theory]
    [InlineData("000000010000000000000002", 1u, 2UL)]
    [InlineData("00000003000000010000000A", 3u, 0x10AUL)]
    public void WalSegmentName_ParseAndFormat_RoundTrip(string text, uint timeline, ulong segment)
    {
        var name = WalSegmentName.Parse(text, SegmentSize);
        name.ShouldBe(new WalSegmentName(timeline, segment));
        name.Format(SegmentSize).ShouldBe(text);
    }

    [Fact]
    public void Lsn_ParseAndSegment_AsPostgreSqlNamesThem()
    {
        var lsn = Lsn.Parse("1/A000028");
        lsn.ToString().ShouldBe("1/A000028");
        lsn.Segment(SegmentSize).ShouldBe(0x10AUL);
    }

    [Fact]
    public async Task Check_MissingMiddleSegment_IsOneGapNamingIt()
    {
        var listing = new WalListing(
            [Wal("000000010000000000000002"), Wal("000000010000000000000004"), Wal("000000010000000000000005", WalObjectKind.Partial, "1")], []);

        var report = await WalChain.CheckAsync(listing, WalSegmentName.Parse("000000010000000000000002", SegmentSize), SegmentSize, _ => Task.FromResult(""));

        report.SegmentsChecked.ShouldBe(4UL);
        report.Gaps.ShouldHaveSingleItem().FirstMissing.ShouldBe("000000010000000000000003");
    }

    [Fact]
    public async Task Check_PartialBeforeTheEnd_IsAGap()
    {
        var listing = new WalListing([Wal("000000010000000000000002", WalObjectKind.Partial, "1"), Wal("000000010000000000000003")], []);

        var report = await WalChain.CheckAsync(listing, WalSegmentName.Parse("000000010000000000000002", SegmentSize), SegmentSize, _ => Task.FromResult(""));

        report.Gaps.ShouldHaveSingleItem().Reason.ShouldContain("only partly archived");
    }

    [Fact]
    public async Task Check_AfterPromotion_FollowsTheNewTimelineFromItsSwitchPoint()
    {
        // Timeline 2 branched off in segment 4: segments before come from timeline 1, from 4 on from timeline 2; the
        // never-completed partial of segment 4 on timeline 1 is not needed.
        var listing = new WalListing(
        [
            Wal("000000010000000000000003"), Wal("000000010000000000000004", WalObjectKind.Partial, "1"),
            Wal("00000002.history", WalObjectKind.History), Wal("000000020000000000000004"), Wal("000000020000000000000005"),
        ], []);

        var report = await WalChain.CheckAsync(listing, WalSegmentName.Parse("000000010000000000000003", SegmentSize), SegmentSize,
            _ => Task.FromResult("1\t0/4000100\tno recovery target specified\n"));

        report.IsContinuous.ShouldBeTrue(string.Join("; ", report.Gaps.Select(g => g.ToString()).Concat(report.Problems)));
        report.LastSegment.ShouldBe("000000020000000000000005");
    }

    [Fact]
    public async Task Check_NewTimelineWithoutHistory_IsAProblem()
    {
        var listing = new WalListing([Wal("000000010000000000000003"), Wal("000000020000000000000004")], []);

        var report = await WalChain.CheckAsync(listing, WalSegmentName.Parse("000000010000000000000003", SegmentSize), SegmentSize, _ => Task.FromResult(""));

        report.IsContinuous.ShouldBeFalse();
        report.Problems.ShouldContain(p => p.Contains("00000002.history", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_NewTimelineWithoutHistory_NamesTheHistoryFileNotTheOlderSegmentsUnderTheNewTimeline()
    {
        var listing = new WalListing(
        [
            Wal("000000010000000000000003"), Wal("000000010000000000000004", WalObjectKind.Partial, "1"),
            Wal("000000020000000000000004"), Wal("000000020000000000000005", WalObjectKind.Partial, "1"),
        ], []);

        var report = await WalChain.CheckAsync(listing, WalSegmentName.Parse("000000010000000000000003", SegmentSize), SegmentSize, _ => Task.FromResult(""));

        report.Gaps.ShouldBeEmpty();
        report.Problems.ShouldHaveSingleItem().ShouldStartWith("missing: 00000002.history");
    }

    [Theory]
    [InlineData("000000010000000000000004")]
    [InlineData("000000020000000000000006")]
    public async Task Check_AfterPromotion_HoleBeforeOrAfterTheSwitchIsAGapNamingTheSegmentOfItsTimeline(string lost)
    {
        // Timeline 2 branched off in segment 5: 3 and 4 are needed from timeline 1, 5 to 7 from timeline 2.
        var files = new[] { "000000010000000000000003", "000000010000000000000004", "000000020000000000000005", "000000020000000000000006" };
        var listing = new WalListing(
        [
            .. files.Where(f => f != lost).Select(f => Wal(f)), Wal("000000010000000000000005", WalObjectKind.Partial, "1"),
            Wal("00000002.history", WalObjectKind.History), Wal("000000020000000000000007", WalObjectKind.Partial, "2"),
        ], []);

        var report = await WalChain.CheckAsync(listing, WalSegmentName.Parse("000000010000000000000003", SegmentSize), SegmentSize,
            _ => Task.FromResult("1\t0/5000100\tno recovery target specified\n"));

        report.Problems.ShouldBeEmpty();
        var gap = report.Gaps.ShouldHaveSingleItem();
        gap.FirstMissing.ShouldBe(lost);
        gap.Reason.ShouldBe("missing");
        report.LastSegment.ShouldBe("000000020000000000000007");
    }
}
