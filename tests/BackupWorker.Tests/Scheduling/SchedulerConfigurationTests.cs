using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Configuration;

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
        var values = new Dictionary<string, string?>
        {
            ["BackupDr:Repository:Path"] = "/tmp/r",
            ["BackupDr:Sandbox:WorkPath"] = "/tmp/s",
            ["BackupDr:Tiers:gold:Retention:Daily"] = "7",
            ["BackupDr:Tiers:gold:Rto"] = "01:00:00",
            ["BackupDr:Tiers:gold:Rpo"] = "01:00:00",
            ["BackupDr:Tiers:gold:DrillEvery"] = "7.00:00:00",
            ["BackupDr:Tiers:gold:Blackouts:0"] = "month-end",
            ["BackupDr:Scheduler:Clustered"] = "true",
            ["BackupDr:Scheduler:MaxConcurrentBackups"] = "0",
            ["BackupDr:Scheduler:TimeZone"] = "Mars/Olympus",
            ["BackupDr:Scheduler:Jitter"] = "soon",
            ["BackupDr:Scheduler:PruneSchedule"] = "every night",
            ["BackupDr:Scheduler:Blackouts:closing:Cron"] = "* * * L-1,L * ?",
            ["BackupDr:Scheduler:Blackouts:closing:LastBusinessDaysOfMonth"] = "2",
            ["BackupDr:Scheduler:MaxConcurentDrills"] = "2",
        };

        var (_, errors) = BackupDrConfiguration.TryLoad(new ConfigurationBuilder().AddInMemoryCollection(values).Build());

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
