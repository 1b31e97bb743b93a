namespace BackupDr.Repository.Alerts;

/// <summary>What went wrong (or was tested). At most one incident is open per target and rule.</summary>
internal enum AlertRule
{
    BackupFailed,
    BackupMissing,
    VerifyFoundDamage,
    FilestoreDamage,
    DrillFailed,
    RtoMissed,
    RpoMissed,
    SandboxCleanupFailed,

    /// <summary>PITR: the WAL archive stopped advancing, or the slot holds more WAL on the source than allowed.</summary>
    PitrArchiveLagging,

    /// <summary>PITR: the WAL archive has a hole after the oldest retained base backup; moments after it cannot be restored.</summary>
    PitrArchiveHole,
    Test,
}
