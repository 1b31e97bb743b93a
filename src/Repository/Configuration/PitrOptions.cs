namespace BackupDr.Repository.Configuration;

/// <summary>
/// Point-in-time recovery of one target (<c>Targets:N:Pitr</c>): a continuous WAL archive streamed from the source
/// through a physical replication slot, plus base backups on their own schedule. Off unless <see cref="Enabled"/>.
/// </summary>
public sealed record PitrOptions
{
    public const string DefaultSlotPrefix = "backupdr_";

    public bool Enabled { get; init; }

    /// <summary>The physical replication slot on the source (created when missing); default <c>backupdr_&lt;target with _&gt;</c>.</summary>
    public string SlotName { get; init; } = "";

    /// <summary>Quartz cron expression of the base backups (<c>pg_basebackup</c>); required when enabled.</summary>
    public string BaseBackupSchedule { get; init; } = "";

    /// <summary>How often the segment being written is uploaded as a partial object: the archive's lag bound.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>WAL the slot may hold back on the source before the slot-lag alert fires (it can fill the source's disk).</summary>
    public long MaxSlotRetainedBytes { get; init; } = 8L << 30;

    /// <summary>How long a PITR restore may spend replaying WAL before it gives up.</summary>
    public TimeSpan RecoveryTimeout { get; init; } = TimeSpan.FromHours(2);

    /// <summary>The slot name in effect: <see cref="SlotName"/>, or one derived from the target name.</summary>
    public string EffectiveSlotName(string target) =>
        SlotName.Length > 0 ? SlotName : DefaultSlotPrefix + target.Replace('-', '_');
}
