namespace BackupDr.Repository.Configuration;

/// <summary>The rules of <c>BackupDr:Scheduler</c> and of the blackout names tiers and targets use.</summary>
internal static partial class ConfigurationValidator
{
    private static void ValidateScheduler(BackupDrOptions options, Action<string, string> add)
    {
        var scheduler = options.Scheduler;
        if (scheduler.Clustered && scheduler.ConnectionString.Length == 0)
        {
            add("Scheduler:ConnectionString", "required when Scheduler:Clustered is true: the PostgreSQL database that holds the shared Quartz tables (password from the environment, BackupDr__Scheduler__ConnectionString)");
        }
        else if (scheduler.ConnectionString.Length > 0)
        {
            ValidateConnectionString("Scheduler:ConnectionString", scheduler.ConnectionString, add);
        }

        if (scheduler.InstanceId.Length > 0 && !TargetName().IsMatch(scheduler.InstanceId))
        {
            add("Scheduler:InstanceId", $"'{scheduler.InstanceId}' is not a valid instance id (1-40 lowercase letters, digits and hyphens)");
        }

        if (scheduler.MaxConcurrentBackups < 1)
        {
            add("Scheduler:MaxConcurrentBackups", $"{scheduler.MaxConcurrentBackups}: at least 1 backup must be allowed to run");
        }

        if (scheduler.MaxConcurrentDrills < 1)
        {
            add("Scheduler:MaxConcurrentDrills", $"{scheduler.MaxConcurrentDrills}: at least 1 drill must be allowed to run");
        }

        if (scheduler.MaxConcurrentJobsPerReplica < 0)
        {
            add("Scheduler:MaxConcurrentJobsPerReplica", $"{scheduler.MaxConcurrentJobsPerReplica} is negative; 0 sizes the replica from the limits");
        }

        if (!TryFindTimeZone(scheduler.TimeZone, out _))
        {
            add("Scheduler:TimeZone", $"unknown time zone '{scheduler.TimeZone}' (an IANA id such as UTC or Europe/Brussels)");
        }

        ValidateCron("Scheduler:PruneSchedule", scheduler.PruneSchedule, add);
        if (scheduler.Clustered && scheduler.ClusterCheckinMisfireThreshold <= scheduler.ClusterCheckinInterval)
        {
            add("Scheduler:ClusterCheckinMisfireThreshold",
                $"{scheduler.ClusterCheckinMisfireThreshold} must exceed ClusterCheckinInterval ({scheduler.ClusterCheckinInterval}), or live replicas are declared dead");
        }

        foreach (var (name, blackout) in scheduler.Blackouts)
        {
            var key = $"Scheduler:Blackouts:{name}";
            if (!TierName().IsMatch(name))
            {
                add(key, "a blackout name uses lowercase letters, digits and hyphens");
            }

            if ((blackout.Cron.Length > 0) == (blackout.LastBusinessDaysOfMonth > 0))
            {
                add(key, "set exactly one of Cron (the excluded seconds, e.g. '* * * L-1,L * ?') or LastBusinessDaysOfMonth (e.g. 2)");
            }
            else if (blackout.Cron.Length > 0)
            {
                ValidateCron($"{key}:Cron", blackout.Cron, add);
            }
            else if (blackout.LastBusinessDaysOfMonth > 20)
            {
                add($"{key}:LastBusinessDaysOfMonth", $"{blackout.LastBusinessDaysOfMonth} would black out nearly every day; use 1 to 20");
            }
        }

        foreach (var (tierName, tier) in options.Tiers)
        {
            ValidateBlackoutNames($"Tiers:{tierName}:Blackouts", tier.Blackouts, scheduler, add);
        }

        for (var i = 0; i < options.Targets.Count; i++)
        {
            ValidateBlackoutNames($"Targets:{i}:Blackouts", options.Targets[i].Blackouts, scheduler, add);
        }
    }

    private static void ValidateBlackoutNames(string key, IReadOnlyList<string> names, SchedulerOptions scheduler, Action<string, string> add)
    {
        foreach (var name in names.Where(n => !scheduler.Blackouts.ContainsKey(n)))
        {
            var known = scheduler.Blackouts.Count == 0 ? "none are defined under Scheduler:Blackouts" : "defined: " + string.Join(", ", scheduler.Blackouts.Keys.Order(StringComparer.Ordinal));
            add(key, $"unknown blackout '{name}' ({known})");
        }
    }

    /// <summary>IANA ids on every platform (and Windows ids where the runtime maps them).</summary>
    public static bool TryFindTimeZone(string id, out TimeZoneInfo zone)
    {
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            zone = TimeZoneInfo.Utc;
            return false;
        }
    }
}
