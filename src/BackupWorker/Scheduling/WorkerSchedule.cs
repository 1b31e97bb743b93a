using System.IO.Hashing;
using System.Text;
using BackupDr.Repository.Configuration;
using Quartz;

namespace BackupDr.BackupWorker.Scheduling;

internal enum WorkerJobKind
{
    Backup,
    Drill,
    Prune,

    /// <summary>A PITR base backup (Targets:N:Pitr:BaseBackupSchedule); runs in the backups execution group.</summary>
    BaseBackup,
}

/// <summary>Names of the worker's jobs, triggers and execution groups in Quartz. One job per target and kind.</summary>
internal static class WorkerJobs
{
    public const string Group = "backupdr";
    public const string TargetKey = "target";

    public static JobKey Job(WorkerJobKind kind, string target) => new($"{Name(kind)}.{target}", Group);

    public static TriggerKey Trigger(WorkerJobKind kind, string target) => new($"{Name(kind)}.{target}", Group);

    /// <summary>The one-shot trigger that runs a missed backup once at start-up.</summary>
    public static TriggerKey CatchUp(string target) => new($"backup-catchup.{target}", Group);

    /// <summary>The execution group whose limit caps how many jobs of the kind run at once.</summary>
    public static string ExecutionGroup(WorkerJobKind kind) => kind switch
    {
        WorkerJobKind.Backup or WorkerJobKind.BaseBackup => "backups",
        WorkerJobKind.Drill => "drills",
        _ => "prune",
    };

    public static string Name(WorkerJobKind kind) => kind.ToString().ToLowerInvariant();
}

/// <param name="Calendar">The blackout calendar the trigger carries, or null.</param>
internal sealed record PlannedTrigger(WorkerJobKind Kind, string Target, ITrigger Trigger, string? Calendar);

/// <summary>
/// The worker's schedule, computed from the options alone (pure, so tests check it with a fake clock): per target a
/// backup trigger (its cron, never blacked out: backups are essential), a drill trigger (its DrillSchedule cron, or
/// every tier DrillEvery from a slot fixed per target) and a prune trigger (Scheduler:PruneSchedule); drill and
/// prune triggers carry the blackout calendar of the target's and its tier's windows.
/// </summary>
internal static class WorkerSchedule
{
    /// <summary>Derived drill slots count from this Monday, so a restart does not move them.</summary>
    public static readonly DateTimeOffset DrillAnchor = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);

    public static TimeZoneInfo Zone(SchedulerOptions scheduler) =>
        ConfigurationValidator.TryFindTimeZone(scheduler.TimeZone, out var zone) ? zone : TimeZoneInfo.Utc;

    /// <summary>The blackout windows of a target: its own and its tier's, by name, without repeats.</summary>
    public static IReadOnlyList<string> BlackoutNames(BackupDrOptions options, TargetOptions target) =>
        (options.Tiers.TryGetValue(target.Tier, out var tier) ? tier.Blackouts : [])
            .Concat(target.Blackouts)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase)
            .ToList();

    /// <summary>One calendar per distinct set of windows, named after the set.</summary>
    public static IReadOnlyDictionary<string, BlackoutCalendar> Calendars(BackupDrOptions options)
    {
        var zone = Zone(options.Scheduler);
        var calendars = new Dictionary<string, BlackoutCalendar>(StringComparer.Ordinal);
        foreach (var target in options.Targets)
        {
            var names = BlackoutNames(options, target);
            if (names.Count > 0)
            {
                calendars.TryAdd(CalendarName(names), new BlackoutCalendar(
                    names.Select(n => BlackoutWindow.From(n, options.Scheduler.Blackouts[n])), zone));
            }
        }

        return calendars;
    }

    public static IReadOnlyList<PlannedTrigger> Plan(BackupDrOptions options, bool drills, TimeProvider time)
    {
        var zone = Zone(options.Scheduler);
        var planned = new List<PlannedTrigger>();
        foreach (var target in options.Targets)
        {
            var names = BlackoutNames(options, target);
            var calendar = names.Count > 0 ? CalendarName(names) : null;
            planned.Add(new PlannedTrigger(WorkerJobKind.Backup, target.Name,
                Cron(WorkerJobKind.Backup, target.Name, target.BackupSchedule, zone, null, MisfireAction.FireOnce, time), null));
            if (drills)
            {
                var drill = target.DrillSchedule.Length > 0
                    ? Cron(WorkerJobKind.Drill, target.Name, target.DrillSchedule, zone, calendar, MisfireAction.FireOnce, time)
                    : Every(target.Name, options.Tiers[target.Tier].DrillEvery, calendar, time);
                planned.Add(new PlannedTrigger(WorkerJobKind.Drill, target.Name, drill, calendar));
            }

            if (target.Pitr.Enabled)
            {
                planned.Add(new PlannedTrigger(WorkerJobKind.BaseBackup, target.Name,
                    Cron(WorkerJobKind.BaseBackup, target.Name, target.Pitr.BaseBackupSchedule, zone, null, MisfireAction.FireOnce, time), null));
            }

            planned.Add(new PlannedTrigger(WorkerJobKind.Prune, target.Name,
                Cron(WorkerJobKind.Prune, target.Name, options.Scheduler.PruneSchedule, zone, calendar, MisfireAction.Skip, time), calendar));
        }

        return planned;
    }

    /// <summary>
    /// True when a slot of <paramref name="cron"/> passed after the last backup started (or there is no backup at
    /// all): the worker was down or the backup failed, and one backup is owed now; one, whatever the number of slots.
    /// </summary>
    public static bool BackupMissed(string cron, TimeZoneInfo zone, DateTimeOffset? lastBackupStartedAt, TimeProvider time)
    {
        if (lastBackupStartedAt is null)
        {
            return true;
        }

        var next = new CronExpression(cron, zone).GetNextValidTimeAfter(lastBackupStartedAt.Value);
        return next is not null && next.Value <= time.GetUtcNow();
    }

    /// <summary>The first derived drill slot after now: anchor + a per-target offset + k * interval.</summary>
    public static DateTimeOffset NextDrillSlot(string target, TimeSpan every, TimeProvider time)
    {
        var minutes = Math.Max(1, (long)every.TotalMinutes);
        var offset = TimeSpan.FromMinutes((long)(XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(target)) % (ulong)minutes));
        var first = DrillAnchor + offset;
        var now = time.GetUtcNow();
        if (first > now)
        {
            return first;
        }

        var periods = (long)Math.Ceiling((now - first).Ticks / (double)every.Ticks);
        var slot = first + (every * periods);
        return slot > now ? slot : slot + every;
    }

    private static string CalendarName(IReadOnlyList<string> names) => "blackout." + string.Join('+', names);

    private enum MisfireAction
    {
        FireOnce,
        Skip,
    }

    /// <remarks>Starts at the TimeProvider's now (Quartz would take the system clock), so the plan is the same on any clock.</remarks>
    private static ITrigger Cron(WorkerJobKind kind, string target, string cron, TimeZoneInfo zone, string? calendar, MisfireAction misfire, TimeProvider time)
    {
        var builder = Base(kind, target, calendar)
            .StartAt(time.GetUtcNow())
            .WithSchedule(CronScheduleBuilder.Create(cron).InTimeZone(zone).WithMisfireInstruction(
                misfire == MisfireAction.FireOnce ? CronTriggerMisfireInstruction.FireAndProceed : CronTriggerMisfireInstruction.DoNothing));
        return builder.Build();
    }

    private static ITrigger Every(string target, TimeSpan every, string? calendar, TimeProvider time) =>
        Base(WorkerJobKind.Drill, target, calendar)
            .StartAt(NextDrillSlot(target, every, time))
            .WithSimpleSchedule(s => s.WithInterval(every).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
            .Build();

    private static TriggerBuilder<IJob> Base(WorkerJobKind kind, string target, string? calendar)
    {
        var builder = TriggerBuilder.Create()
            .WithIdentity(WorkerJobs.Trigger(kind, target))
            .ForJob(WorkerJobs.Job(kind, target))
            .WithExecutionGroup(WorkerJobs.ExecutionGroup(kind))
            // A firing that comes due while the previous one of the same trigger runs is dropped, not queued: a
            // backup that outlasts its interval must not build a backlog of back-to-back backups.
            .WithOverlapPolicy(OverlapPolicy.Skip)
            .WithDescription($"{WorkerJobs.Name(kind)} of {target}");
        return calendar is null ? builder : builder.WithCalendarName(calendar);
    }
}
