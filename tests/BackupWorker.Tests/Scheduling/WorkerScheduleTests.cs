using BackupDr.BackupWorker.Scheduling;
using Microsoft.Extensions.Time.Testing;
using Quartz;

namespace BackupDr.BackupWorker.Tests.Scheduling;

public sealed class WorkerScheduleTests
{
    private static readonly DateTimeOffset Monday = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static PlannedTrigger Trigger(IReadOnlyList<PlannedTrigger> plan, WorkerJobKind kind) => plan.Single(p => p.Kind == kind);

    [Fact]
    public void Plan_OneTarget_BackupDrillAndPruneTriggersOfThatTargetsJobs()
    {
        var options = ScheduleOptions.Load(("Targets:0:DrillSchedule", "0 30 3 ? * SUN"));

        var plan = WorkerSchedule.Plan(options, drills: true, new FakeTimeProvider(Monday));

        plan.Select(p => p.Trigger.JobKey.Name).ShouldBe(["backup.acme-prod", "drill.acme-prod", "prune.acme-prod"]);
        plan.Select(p => p.Trigger.ExecutionGroup).ShouldBe(["backups", "drills", "prune"]);
        plan.ShouldAllBe(p => p.Trigger.OverlapPolicy == OverlapPolicy.Skip);
        Trigger(plan, WorkerJobKind.Backup).Trigger.GetFireTimeAfter(Monday).ShouldBe(new DateTimeOffset(2026, 11, 24, 1, 0, 0, TimeSpan.Zero));
        Trigger(plan, WorkerJobKind.Drill).Trigger.GetFireTimeAfter(Monday).ShouldBe(new DateTimeOffset(2026, 11, 29, 3, 30, 0, TimeSpan.Zero));
        Trigger(plan, WorkerJobKind.Backup).Trigger.MisfireInstructionCode.ShouldBe((int)CronTriggerMisfireInstruction.FireAndProceed,
            "a backup missed while the worker was down runs once, not once per slot");
    }

    [Fact]
    public void Plan_NoDrillService_SchedulesNoDrill()
    {
        var plan = WorkerSchedule.Plan(ScheduleOptions.Load(), drills: false, new FakeTimeProvider(Monday));

        plan.Select(p => p.Kind).ShouldBe([WorkerJobKind.Backup, WorkerJobKind.Prune]);
    }

    [Fact]
    public void Plan_TimeZone_AppliesToCronSchedules()
    {
        var options = ScheduleOptions.Load(("Scheduler:TimeZone", "Europe/Brussels"));

        var backup = Trigger(WorkerSchedule.Plan(options, drills: false, new FakeTimeProvider(Monday)), WorkerJobKind.Backup).Trigger;

        // 01:00 in Brussels in November (UTC+1) is 00:00 UTC.
        backup.GetFireTimeAfter(Monday).ShouldBe(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public void NextDrillSlot_NoDrillSchedule_EveryDrillEveryFromAFixedSlotThatARestartDoesNotMove()
    {
        var time = new FakeTimeProvider(Monday);
        var every = TimeSpan.FromDays(7);

        var first = WorkerSchedule.NextDrillSlot("acme-prod", every, time);
        time.Advance(TimeSpan.FromDays(2));
        var afterRestart = WorkerSchedule.NextDrillSlot("acme-prod", every, time);

        first.ShouldBeGreaterThan(Monday);
        (first - Monday).ShouldBeLessThanOrEqualTo(every);
        afterRestart.ShouldBe(first > time.GetUtcNow() ? first : first + every);
        ((first - WorkerSchedule.DrillAnchor).Ticks % every.Ticks).ShouldBe(((WorkerSchedule.NextDrillSlot("acme-prod", every, new FakeTimeProvider(Monday.AddDays(30))) - WorkerSchedule.DrillAnchor).Ticks) % every.Ticks);
        WorkerSchedule.NextDrillSlot("globex-prod", every, time).ShouldNotBe(afterRestart, "targets are spread over the interval");
    }

    [Fact]
    public void Plan_DerivedDrill_RepeatsEveryDrillEvery()
    {
        var plan = WorkerSchedule.Plan(ScheduleOptions.Load(), drills: true, new FakeTimeProvider(Monday));

        var drill = (ISimpleTrigger)Trigger(plan, WorkerJobKind.Drill).Trigger;
        drill.RepeatInterval.ShouldBe(TimeSpan.FromDays(7));
        drill.StartTimeUtc.ShouldBe(WorkerSchedule.NextDrillSlot("acme-prod", TimeSpan.FromDays(7), new FakeTimeProvider(Monday)));
    }

    [Fact]
    public void BackupMissed_SlotPassedSinceTheLastBackup_IsOwedOnceWhateverTheNumberOfSlots()
    {
        var zone = TimeZoneInfo.Utc;
        var time = new FakeTimeProvider(Monday);

        WorkerSchedule.BackupMissed("0 0 1 * * ?", zone, lastBackupStartedAt: null, time).ShouldBeTrue("never backed up");
        WorkerSchedule.BackupMissed("0 0 1 * * ?", zone, Monday.AddHours(-11).AddMinutes(1), time).ShouldBeFalse("today's 01:00 backup ran");
        WorkerSchedule.BackupMissed("0 0 1 * * ?", zone, Monday.AddDays(-5), time).ShouldBeTrue("five slots missed: one backup owed");
        time.Advance(TimeSpan.FromHours(13));
        WorkerSchedule.BackupMissed("0 0 1 * * ?", zone, Monday.AddHours(-11).AddMinutes(1), time).ShouldBeTrue("tomorrow's 01:00 has passed");
    }

    [Fact]
    public void Plan_BlackoutOnTierAndTarget_DrillAndPruneCarryOneCalendarBackupsNone()
    {
        var options = ScheduleOptions.Load(
            ("Scheduler:Blackouts:month-end:LastBusinessDaysOfMonth", "2"),
            ("Scheduler:Blackouts:office-hours:Cron", "* * 8-17 ? * MON-FRI"),
            ("Tiers:gold:Blackouts:0", "month-end"),
            ("Targets:0:Blackouts:0", "office-hours"),
            ("Targets:0:Blackouts:1", "month-end"));

        var plan = WorkerSchedule.Plan(options, drills: true, new FakeTimeProvider(Monday));
        var calendars = WorkerSchedule.Calendars(options);

        calendars.Keys.ShouldBe(["blackout.month-end+office-hours"]);
        Trigger(plan, WorkerJobKind.Backup).Trigger.CalendarName.ShouldBeNull("backups are essential: never blacked out");
        Trigger(plan, WorkerJobKind.Drill).Trigger.CalendarName.ShouldBe("blackout.month-end+office-hours");
        Trigger(plan, WorkerJobKind.Prune).Trigger.CalendarName.ShouldBe("blackout.month-end+office-hours");
    }
}
