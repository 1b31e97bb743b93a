using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Retention;

/// <summary>
/// Reads, from the drill records and the open drills' leases of a target, which backups retention must not let go of
/// (see <see cref="RetentionProtections"/>).
/// </summary>
internal interface IDrillProtectionSource
{
    Task<RetentionProtections> ReadAsync(IObjectStore store, string target, CancellationToken cancellationToken);

    /// <summary>Whether an open drill restores <paramref name="backupId"/> now: asked again right before a deletion.</summary>
    Task<bool> InOpenDrillAsync(IObjectStore store, string target, string backupId, CancellationToken cancellationToken);
}
