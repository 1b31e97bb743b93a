using BackupDr.Repository.Backups;
using BackupDr.Repository.Retention;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Wal;

namespace BackupDr.Repository.Tests.Retention;

public sealed class PitrRetentionPlannerTests
{
    private const long SegmentSize = WalSegmentName.DefaultSegmentSizeBytes;
    internal static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Plan_WeeklyBaseBackupsAndASevenDayWindow_KeepsTheOneBeforeTheWindowAndPrunesOlderWithTheirWal()
    {
        // Base backups 21, 14, 9 and 2 days old, starting at segments 0x10, 0x20, 0x30, 0x40 of timeline 1.
        var bases = new[] { Base(21, 0x10), Base(14, 0x20), Base(9, 0x30), Base(2, 0x40) };
        var wal = Listing(Enumerable.Range(0x08, 0x40).Select(s => Segment(1, (ulong)s)).ToArray());

        var plan = PitrRetentionPlanner.Plan(bases, wal, TimeSpan.FromDays(7), new HashSet<string>(), Now);

        plan.BaseBackups.Select(d => (d.BackupId, d.Keep)).ShouldBe([(bases[3].BackupId, true), (bases[2].BackupId, true), (bases[1].BackupId, false), (bases[0].BackupId, false)]);
        plan.BaseBackups[0].Reasons.ShouldContain("newest base backup");
        plan.BaseBackups[1].Reasons.ShouldHaveSingleItem().ShouldStartWith("restores the first moments of the PitrWindow 7.00:00:00");
        plan.BaseBackups[2].Reasons.ShouldHaveSingleItem().ShouldContain(bases[2].BackupId);
        plan.Wal.KeepFrom.ShouldBe(Name(1, 0x30));
        plan.Wal.Objects.Select(o => o.FileName).ShouldBe(Enumerable.Range(0x08, 0x30 - 0x08).Select(s => Name(1, (ulong)s)));
    }

    [Fact]
    public void Plan_OldBaseBackupInAnOpenDrill_KeepsItAndEveryWalSegmentFromItsStart()
    {
        var bases = new[] { Base(30, 0x10), Base(9, 0x30), Base(2, 0x40) };
        var wal = Listing(Enumerable.Range(0x08, 0x40).Select(s => Segment(1, (ulong)s)).ToArray());

        var plan = PitrRetentionPlanner.Plan(bases, wal, TimeSpan.FromDays(7), new HashSet<string> { bases[0].BackupId }, Now);

        plan.BaseBackups.ShouldAllBe(d => d.Keep);
        plan.BaseBackups[^1].Reasons.ShouldBe(["used by an open drill"]);
        plan.Wal.KeepFrom.ShouldBe(Name(1, 0x10));
        plan.Wal.Objects.Count.ShouldBe(0x10 - 0x08);
    }

    [Fact]
    public void Plan_AfterAPromotion_OldTimelineSegmentsGoButTheHistoryOfTheKeptTimelineStays()
    {
        // The source was promoted to timeline 2 at segment 0x20; the oldest retained base backup started on timeline 2 at 0x28.
        var bases = new[] { Base(20, 0x12), Base(9, 0x28, timeline: 2), Base(2, 0x2C, timeline: 2) };
        var wal = Listing(
            [.. Enumerable.Range(0x10, 0x11).Select(s => Segment(1, (ulong)s)), .. Enumerable.Range(0x20, 0x10).Select(s => Segment(2, (ulong)s)),
                History(2), History(3)]);

        var plan = PitrRetentionPlanner.Plan(bases, wal, TimeSpan.FromDays(7), new HashSet<string>(), Now);

        plan.BaseBackups.Select(d => d.Keep).ShouldBe([true, true, false]);
        plan.Wal.KeepFrom.ShouldBe(Name(2, 0x28));
        plan.Wal.Objects.ShouldAllBe(o => o.Kind != WalObjectKind.History);
        plan.Wal.Objects.Select(o => o.FileName).ShouldBe([.. Enumerable.Range(0x10, 0x11).Select(s => Name(1, (ulong)s)), .. Enumerable.Range(0x20, 8).Select(s => Name(2, (ulong)s))]);
    }

    [Fact]
    public void Plan_NoBaseBackupYet_DeletesNoWal()
    {
        var plan = PitrRetentionPlanner.Plan([], Listing([Segment(1, 1), Segment(1, 2)]), TimeSpan.FromDays(7), new HashSet<string>(), Now);

        plan.BaseBackups.ShouldBeEmpty();
        plan.Wal.Objects.ShouldBeEmpty();
        plan.Wal.KeepFrom.ShouldBeNull();
    }

    internal static string Name(uint timeline, ulong segment) => new WalSegmentName(timeline, segment).Format(SegmentSize);

    internal static WalListing Listing(ArchivedWal[] objects) => new(objects, []);

    internal static ArchivedWal Segment(uint timeline, ulong segment) => new(
        ObjectKey.Parse($"targets/t/wal/{timeline:X8}/{Name(timeline, segment)}.{new string('a', 64)}.zst.aesgcm"), WalObjectKind.Segment, Name(timeline, segment), timeline,
        new string('a', 64), 1000, "");

    private static ArchivedWal History(uint timeline) => new(
        ObjectKey.Parse($"targets/t/wal/{timeline:X8}/{WalSegmentName.HistoryFileName(timeline)}.{new string('b', 64)}.zst.aesgcm"), WalObjectKind.History,
        WalSegmentName.HistoryFileName(timeline), timeline, new string('b', 64), 100, "");

    /// <summary>A base backup manifest <paramref name="daysOld"/> days before <see cref="Now"/>, starting at a segment.</summary>
    internal static BackupManifest Base(int daysOld, ulong startSegment, uint timeline = 1)
    {
        var point = Now.AddDays(-daysOld);
        var start = new WalSegmentName(timeline, startSegment);
        return new BackupManifest
        {
            BackupId = point.AddMinutes(-5).UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", System.Globalization.CultureInfo.InvariantCulture) + "-000000",
            Target = "t",
            Tenant = "acme",
            Environment = "production",
            Tier = "gold",
            StartedAt = point.AddMinutes(-5),
            CompletedAt = point,
            RecoveryPoint = point,
            Source = new ManifestSource("db", 5432, "acme", "15.18", 150018, "7301234567890123456", null),
            Tools = new ManifestTools("test", "pg_basebackup (PostgreSQL) 15.18"),
            Encryption = new ManifestEncryption("AES-256-GCM-SEGMENTED-1", "key", ""),
            Objects = [],
            Pitr = new ManifestPitr(ManifestPitr.BaseKind, start.Start(SegmentSize).ToString(), start.Start(SegmentSize).ToString(), timeline,
                start.Format(SegmentSize), start.Format(SegmentSize), SegmentSize, "slot"),
        };
    }
}
