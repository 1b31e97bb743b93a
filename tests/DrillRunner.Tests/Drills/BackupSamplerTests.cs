using BackupDr.DrillRunner.Drills;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Drills;

namespace BackupDr.DrillRunner.Tests.Drills;

/// <summary>
/// Sampling: never the newest, the retention class drilled least recently first, and within it backups never or
/// least recently drilled; over many drills every class gets its turn.
/// </summary>
public sealed class BackupSamplerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 3, 0, 0, TimeSpan.Zero);

    /// <summary>One backup a day at 01:00 for <paramref name="days"/> days up to today.</summary>
    private static List<BackupManifest> Daily(int days) =>
        Enumerable.Range(0, days).Select(d => TestManifests.At(new DateTimeOffset(2026, 11, 23, 1, 0, 0, TimeSpan.Zero).AddDays(-d), $"{d:x6}")).ToList();

    private static DrillRecord Drill(BackupManifest backup, DateTimeOffset at) => new()
    {
        DrillId = at.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", System.Globalization.CultureInfo.InvariantCulture) + "-000000",
        Target = "acme-prod", Tenant = "acme", Environment = "production", Tier = "gold", BackupId = backup.BackupId,
        ManifestSha256 = "", RecoveryPoint = backup.RecoveryPoint, Selection = "sample", StartedAt = at, CompletedAt = at,
        Outcome = DrillOutcome.Passed, Reasons = [], Phases = [], Probes = [], Rto = new ObjectiveRecord(1, 1, true, null),
        Rpo = new ObjectiveRecord(1, 1, true, null), Sandbox = new SandboxRecord("local", "", ""), Tools = new DrillTools("", ""), Host = "",
    };

    [Fact]
    public void Classify_FirstOfMonthAndWeek_AreMonthlyAndWeekly()
    {
        var backups = Daily(40);
        BackupManifest On(int month, int day) => backups.Single(b => b.RecoveryPoint.Month == month && b.RecoveryPoint.Day == day);

        BackupSampler.Classify(On(11, 1), backups).ShouldBe(RetentionClass.Monthly);
        BackupSampler.Classify(On(10, 15), backups).ShouldBe(RetentionClass.Monthly, "the oldest kept backup of October");
        BackupSampler.Classify(On(11, 2), backups).ShouldBe(RetentionClass.Weekly, "Monday 2 November starts an ISO week");
        BackupSampler.Classify(On(11, 3), backups).ShouldBe(RetentionClass.Daily);
        BackupSampler.Classify(On(10, 26), backups).ShouldBe(RetentionClass.Weekly);
    }

    [Fact]
    public void Choose_NothingDrilledYet_TakesAnOlderMonthlyBackupNeverTheNewest()
    {
        var backups = Daily(40);

        var sample = BackupSampler.Choose(backups, [], Now, new Random(1), "acme-prod");

        sample.Manifest.BackupId.ShouldNotBe(backups[0].BackupId);
        sample.Class.ShouldBe(RetentionClass.Monthly);
        sample.Reason.ShouldContain("monthly class (never drilled)");
    }

    [Fact]
    public void Choose_ManyDrillsInARow_ProvesEveryRetentionClass()
    {
        var backups = Daily(40);
        var drills = new List<DrillRecord>();
        var random = new Random(7);

        for (var i = 0; i < 6; i++)
        {
            var at = Now.AddDays(i);
            var sample = BackupSampler.Choose(backups, drills, at, random, "acme-prod");
            drills.Add(Drill(sample.Manifest, at));
        }

        drills.Select(d => BackupSampler.Classify(backups.Single(b => b.BackupId == d.BackupId), backups)).Distinct().Order()
            .ShouldBe([RetentionClass.Monthly, RetentionClass.Weekly, RetentionClass.Daily]);
        drills.Take(3).Select(d => d.BackupId).Distinct().Count().ShouldBe(3);
    }

    [Fact]
    public void Choose_WithinAClass_PrefersNeverDrilledBackups()
    {
        // 12 to 23 November: 12 is the monthly one, 16 the weekly one, 23 the newest; the rest are daily.
        var backups = Daily(12);
        var neverDrilled = backups.Single(b => b.RecoveryPoint.Day == 13);
        var drills = backups.Where(b => b.RecoveryPoint.Day is 12 or 16).Select(b => Drill(b, Now.AddHours(-1)))
            .Concat(backups.Where(b => b.RecoveryPoint.Day is not (12 or 16 or 13 or 23)).Select(b => Drill(b, Now.AddDays(-10))))
            .ToList();

        var picks = Enumerable.Range(0, 400).Select(seed => BackupSampler.Choose(backups, drills, Now, new Random(seed), "acme-prod")).ToList();

        picks.ShouldAllBe(p => p.Class == RetentionClass.Daily, "the daily class was drilled least recently");
        var counts = picks.GroupBy(p => p.Manifest.BackupId).ToDictionary(g => g.Key, g => g.Count());
        counts[neverDrilled.BackupId].ShouldBeGreaterThan(3 * counts.Where(c => c.Key != neverDrilled.BackupId).Max(c => c.Value));
    }

    [Fact]
    public void Choose_OnlyOneBackup_TakesItAndSaysSo()
    {
        var backups = Daily(1);

        var sample = BackupSampler.Choose(backups, [], Now, new Random(1), "acme-prod");

        sample.Manifest.ShouldBe(backups[0]);
        sample.Reason.ShouldContain("the only backup");
    }

    [Fact]
    public void Choose_NoBackup_SaysHowToTakeOne() =>
        Should.Throw<BackupNotFoundException>(() => BackupSampler.Choose([], [], Now, new Random(1), "acme-prod"))
            .Message.ShouldContain("backupdr backup --target acme-prod");
}
