using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Retention;

/// <summary>
/// Reads, from the drill records of a target, which backups retention must not let go of (see
/// <see cref="RetentionProtections"/>). Bound by the composition root to the drill records of issue [4].
/// </summary>
internal interface IDrillProtectionSource
{
    Task<RetentionProtections> ReadAsync(IObjectStore store, string target, CancellationToken cancellationToken);
}
