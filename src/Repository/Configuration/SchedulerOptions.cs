namespace BackupDr.Repository.Configuration;

/// <summary>
/// <c>BackupDr:Scheduler</c>: how <c>backupdr run</c> schedules work. In-memory by default (one replica); with
/// <see cref="Clustered"/> several replicas share Quartz's job store in PostgreSQL and each trigger fires on one.
/// </summary>
public sealed record SchedulerOptions
{
    /// <summary>Share one Quartz job store in PostgreSQL between replicas (fleet mode).</summary>
    public bool Clustered { get; init; }

    /// <summary>Secret when it carries a password. PostgreSQL database holding the <c>qrtz_*</c> tables; required when clustered.</summary>
    public string ConnectionString { get; init; } = "";

    /// <summary>This replica's id in the cluster and in its heartbeat; empty: host name plus a random suffix.</summary>
    public string InstanceId { get; init; } = "";

    /// <summary>Backups running at once (on this replica, or across the cluster when clustered).</summary>
    public int MaxConcurrentBackups { get; init; } = 2;

    /// <summary>Drills running at once (on this replica, or across the cluster when clustered).</summary>
    public int MaxConcurrentDrills { get; init; } = 1;

    /// <summary>
    /// Jobs one replica runs at once (its Quartz thread pool), whatever their kind; 0: MaxConcurrentBackups +
    /// MaxConcurrentDrills + 1. With a cluster the limits above are shared by all replicas, and this spreads them.
    /// </summary>
    public int MaxConcurrentJobsPerReplica { get; init; }

    /// <summary>Each scheduled job waits a random delay up to this before it starts, so that a fleet on one cron does not start at one instant. Zero: none.</summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>IANA or Windows time zone of every cron schedule and blackout window.</summary>
    public string TimeZone { get; init; } = "UTC";

    /// <summary>Quartz cron expression of the retention job (each target pruned in turn).</summary>
    public string PruneSchedule { get; init; } = "0 0 5 * * ?";

    /// <summary>How often the heartbeat object is written to the repository.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a stop waits for cancelled jobs to finish; the chart's terminationGracePeriodSeconds must exceed it.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A trigger that could not fire within this (process down, no free slot) counts as misfired.</summary>
    public TimeSpan MisfireThreshold { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How often a clustered replica checks in; a replica silent for <see cref="ClusterCheckinMisfireThreshold"/> is declared dead.</summary>
    public TimeSpan ClusterCheckinInterval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan ClusterCheckinMisfireThreshold { get; init; } = TimeSpan.FromSeconds(30);

    public int ThreadsPerReplica => MaxConcurrentJobsPerReplica > 0 ? MaxConcurrentJobsPerReplica : MaxConcurrentBackups + MaxConcurrentDrills + 1;

    /// <summary>Named blackout windows that tiers and targets refer to in their <c>Blackouts</c> lists.</summary>
    public IReadOnlyDictionary<string, BlackoutOptions> Blackouts { get; init; } = new Dictionary<string, BlackoutOptions>();
}

/// <summary>
/// A window during which drills and other non-essential jobs of the tiers and targets naming it do not start
/// (backups always do). Exactly one of the two forms is set.
/// </summary>
public sealed record BlackoutOptions
{
    /// <summary>Quartz cron expression matching the excluded seconds, e.g. <c>* * 8-18 ? * MON-FRI</c>.</summary>
    public string Cron { get; init; } = "";

    /// <summary>The last N business days (Monday to Friday) of every month, whole days, e.g. 2 for month-end closing.</summary>
    public int LastBusinessDaysOfMonth { get; init; }
}
