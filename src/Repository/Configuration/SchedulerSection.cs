using Microsoft.Extensions.Configuration;

namespace BackupDr.Repository.Configuration;

/// <summary>Reads <c>BackupDr:Scheduler</c>; defaults are those of <see cref="SchedulerOptions"/>.</summary>
internal static class SchedulerSection
{
    public static SchedulerOptions Read(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Clustered", "ConnectionString", "InstanceId", "MaxConcurrentBackups", "MaxConcurrentDrills", "MaxConcurrentJobsPerReplica",
            "Jitter", "TimeZone", "PruneSchedule", "HeartbeatInterval", "ShutdownTimeout", "MisfireThreshold",
            "ClusterCheckinInterval", "ClusterCheckinMisfireThreshold", "Blackouts");
        var defaults = new SchedulerOptions();
        return new SchedulerOptions
        {
            Clustered = reader.Bool(section, "Clustered", false),
            ConnectionString = SectionReader.String(section, "ConnectionString"),
            InstanceId = SectionReader.String(section, "InstanceId"),
            MaxConcurrentBackups = reader.Int(section, "MaxConcurrentBackups", defaults.MaxConcurrentBackups),
            MaxConcurrentDrills = reader.Int(section, "MaxConcurrentDrills", defaults.MaxConcurrentDrills),
            MaxConcurrentJobsPerReplica = reader.Int(section, "MaxConcurrentJobsPerReplica", 0),
            Jitter = reader.OptionalDuration(section, "Jitter", TimeSpan.Zero, allowZero: true),
            TimeZone = SectionReader.String(section, "TimeZone") is { Length: > 0 } zone ? zone : defaults.TimeZone,
            PruneSchedule = SectionReader.String(section, "PruneSchedule") is { Length: > 0 } prune ? prune : defaults.PruneSchedule,
            HeartbeatInterval = reader.OptionalDuration(section, "HeartbeatInterval", defaults.HeartbeatInterval),
            ShutdownTimeout = reader.OptionalDuration(section, "ShutdownTimeout", defaults.ShutdownTimeout),
            MisfireThreshold = reader.OptionalDuration(section, "MisfireThreshold", defaults.MisfireThreshold),
            ClusterCheckinInterval = reader.OptionalDuration(section, "ClusterCheckinInterval", defaults.ClusterCheckinInterval),
            ClusterCheckinMisfireThreshold = reader.OptionalDuration(section, "ClusterCheckinMisfireThreshold", defaults.ClusterCheckinMisfireThreshold),
            Blackouts = section.GetSection("Blackouts").GetChildren().ToDictionary(
                b => b.Key,
                b =>
                {
                    reader.RejectUnknownKeys(b, "Cron", "LastBusinessDaysOfMonth");
                    return new BlackoutOptions
                    {
                        Cron = SectionReader.String(b, "Cron"),
                        LastBusinessDaysOfMonth = reader.Int(b, "LastBusinessDaysOfMonth", 0),
                    };
                },
                StringComparer.OrdinalIgnoreCase),
        };
    }
}
