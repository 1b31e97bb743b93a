using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <summary>The newest committed backup of a target, found by listing keys and reading one manifest.</summary>
internal static class LatestBackup
{
    /// <summary>Null when the target has no committed backup.</summary>
    public static async Task<BackupManifest?> FindAsync(IObjectStore store, string target, CancellationToken cancellationToken)
    {
        ObjectKey? newest = null;
        await foreach (var entry in store.ListAsync(RepositoryLayout.BackupsPrefix(target), cancellationToken))
        {
            // Keys list in ordinal order and backup ids sort by time, so the last manifest listed is the newest.
            if (RepositoryLayout.IsManifest(entry.Key))
            {
                newest = entry.Key;
            }
        }

        return newest is null ? null : await BackupCatalog.ReadManifestAsync(store, newest.Value, cancellationToken);
    }
}
