using BackupDr.Repository.Configuration;
using BackupDr.Repository.Retention;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.Repository.Tests.Retention;

public sealed class RetentionPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly RetentionOptions Gfs = new() { Daily = 7, Weekly = 4, Monthly = 3, KeepWithin = TimeSpan.FromDays(1) };

    /// <summary>One backup a day at 01:00 UTC for <paramref name="days"/> days up to today.</summary>
    private static List<RetentionCandidate> DailyBackups(int days) =>
        Enumerable.Range(0, days)
            .Select(i => new DateTimeOffset(2026, 11, 23, 1, 0, 0, TimeSpan.Zero).AddDays(-i))
            .Select(Candidate)
            .ToList();

    private static RetentionCandidate Candidate(DateTimeOffset at) => new($"{at.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-aaaaaa", at);

    private static RetentionPlan Plan(IEnumerable<RetentionCandidate> backups, RetentionOptions? policy = null, RetentionProtections? protections = null,
        TimeProvider? time = null, TimeZoneInfo? zone = null) =>
        RetentionPlanner.Plan("acme-prod", backups, policy ?? Gfs, protections ?? RetentionProtections.None, time ?? new FakeTimeProvider(Now), zone ?? TimeZoneInfo.Utc);

    private static string Day(RetentionDecision decision) => decision.RecoveryPoint.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Plan_DailyBackupsOverAYear_KeepsSevenDaysFourWeeksThreeMonths()
    {
        var plan = Plan(DailyBackups(400));

        // Days: 17..23 Nov. Weeks (ISO, newest backup of each): 23 Nov (W48), 22 Nov (W47), 15 Nov (W46), 8 Nov (W45).
        // Months: 23 Nov, 31 Oct, 30 Sep.
        plan.Kept.Select(Day).ShouldBe(
            ["2026-11-23", "2026-11-22", "2026-11-21", "2026-11-20", "2026-11-19", "2026-11-18", "2026-11-17", "2026-11-15", "2026-11-08", "2026-10-31", "2026-09-30"]);
        plan.Deleted.Count().ShouldBe(400 - 11);
        plan.Decisions.Single(d => Day(d) == "2026-10-31").Reasons.ShouldBe(["monthly 2026-10 (2 of 3)"]);
        plan.Decisions.Single(d => Day(d) == "2026-11-08").Reasons.ShouldBe(["weekly 2026-W45 (4 of 4)"]);
        plan.Deleted.First().Reasons.Single().ShouldStartWith("not the newest of a kept day, week or month (Daily 7, Weekly 4, Monthly 3)");
    }

    [Fact]
    public void Plan_NewestBackupOlderThanEveryRule_IsKept()
    {
        var old = Candidate(Now.AddDays(-900));
        var plan = Plan([old], new RetentionOptions { Daily = 1, KeepWithin = TimeSpan.FromHours(1) });

        plan.Decisions.Single().Keep.ShouldBeTrue();
        plan.Decisions.Single().Reasons.ShouldContain("newest backup");
    }

    [Fact]
    public void Plan_NewestDrillPassedIsOld_KeepsItAndOnlyIt()
    {
        var backups = DailyBackups(60);
        var passedOld = backups[50].BackupId;
        var passedOlder = backups[55].BackupId;
        var protections = new RetentionProtections(new HashSet<string> { passedOld, passedOlder }, new HashSet<string>());

        var plan = Plan(backups, protections: protections);

        plan.Decisions.Single(d => d.BackupId == passedOld).Reasons.ShouldBe(["newest backup whose drill passed"]);
        plan.Decisions.Single(d => d.BackupId == passedOlder).Keep.ShouldBeFalse("only the newest passed drill is protected");
    }

    [Fact]
    public void Plan_BackupInAnOpenDrill_IsKept()
    {
        var backups = DailyBackups(60);
        var inDrill = backups[40].BackupId;

        var plan = Plan(backups, protections: new RetentionProtections(new HashSet<string>(), new HashSet<string> { inDrill }));

        plan.Decisions.Single(d => d.BackupId == inDrill).Reasons.ShouldBe(["used by an open drill"]);
    }

    [Fact]
    public void Plan_SeveralBackupsADay_KeepsAllWithinKeepWithinThenOnlyTheNewestOfTheDay()
    {
        var hourly = Enumerable.Range(0, 12).Select(h => Candidate(Now.AddHours(-h))).ToList();
        var time = new FakeTimeProvider(Now);
        var policy = new RetentionOptions { Daily = 1, KeepWithin = TimeSpan.FromDays(1) };

        Plan(hourly, policy, time: time).Deleted.ShouldBeEmpty();

        time.Advance(TimeSpan.FromDays(1));
        var later = Plan(hourly, policy, time: time);
        later.Kept.Select(d => d.BackupId).ShouldBe([hourly[0].BackupId]);
        later.Deleted.Count().ShouldBe(11);
    }

    [Fact]
    public void Plan_TimeZone_DecidesWhichDayABackupBelongsTo()
    {
        // 23:30 UTC on the 21st is 00:30 on the 22nd in Brussels: with a Brussels day it is the only backup of the 22nd.
        var lateEvening = Candidate(new DateTimeOffset(2026, 11, 21, 23, 30, 0, TimeSpan.Zero));
        var earlyEvening = Candidate(new DateTimeOffset(2026, 11, 21, 20, 0, 0, TimeSpan.Zero));
        var newest = Candidate(new DateTimeOffset(2026, 11, 23, 1, 0, 0, TimeSpan.Zero));
        var policy = new RetentionOptions { Daily = 3, KeepWithin = TimeSpan.FromHours(1) };
        var brussels = TimeZoneInfo.FindSystemTimeZoneById("Europe/Brussels");

        Plan([newest, lateEvening, earlyEvening], policy).Kept.Select(d => d.BackupId).ShouldBe([newest.BackupId, lateEvening.BackupId]);
        Plan([newest, lateEvening, earlyEvening], policy, zone: brussels).Kept.Count().ShouldBe(3);
    }

    [Fact]
    public void Plan_NoBackups_IsEmpty()
    {
        Plan([]).Decisions.ShouldBeEmpty();
    }
}
