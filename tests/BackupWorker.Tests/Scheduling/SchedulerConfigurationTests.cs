using BackupDr.Repository.Configuration;

namespace BackupDr.BackupWorker.Tests.Scheduling;

public sealed class SchedulerConfigurationTests
{
    [Fact]
    public void Load_Defaults_InMemoryTwoBackupsOneDrillUtc()
    {
        var scheduler = ScheduleOptions.Load().Scheduler;

        scheduler.Clustered.ShouldBeFalse();
        scheduler.MaxConcurrentBackups.ShouldBe(2);
        scheduler.MaxConcurrentDrills.ShouldBe(1);
        scheduler.TimeZone.ShouldBe("UTC");
        scheduler.ShutdownTimeout.ShouldBe(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Load_BadSchedulerSettings_ReportsEveryOneWithItsKey()
    {
        var errors = ScheduleOptions.Errors(
            ("Tiers:gold:Blackouts:0", "month-end"),
            ("Scheduler:Clustered", "true"),
            ("Scheduler:MaxConcurrentBackups", "0"),
            ("Scheduler:TimeZone", "Mars/Olympus"),
            ("Scheduler:Jitter", "soon"),
            ("Scheduler:PruneSchedule", "every night"),
            ("Scheduler:Blackouts:closing:Cron", "* * * L-1,L * ?"),
            ("Scheduler:Blackouts:closing:LastBusinessDaysOfMonth", "2"),
            ("Scheduler:MaxConcurentDrills", "2"));

        errors.Select(e => e.Key).ShouldBe([
            "BackupDr:Scheduler:MaxConcurentDrills",
            "BackupDr:Scheduler:Jitter",
            "BackupDr:Scheduler:ConnectionString",
            "BackupDr:Scheduler:MaxConcurrentBackups",
            "BackupDr:Scheduler:TimeZone",
            "BackupDr:Scheduler:PruneSchedule",
            "BackupDr:Scheduler:Blackouts:closing",
            "BackupDr:Tiers:gold:Blackouts",
        ], ignoreOrder: true);
        errors.Single(e => e.Key.EndsWith("Tiers:gold:Blackouts", StringComparison.Ordinal)).Message.ShouldContain("unknown blackout 'month-end'");
    }

    [Fact]
    public void Load_SecretConnectionString_IsMaskedByConfigCheck()
    {
        var options = ScheduleOptions.Load(("Scheduler:Clustered", "true"), ("Scheduler:ConnectionString", "Host=db;Database=quartz;Username=q;Password=hunter22"));

        var shown = ConfigurationDisplay.ToJson(options).ToJsonString();

        shown.ShouldNotContain("hunter22");
        shown.ShouldContain("Password=***");
    }
}
