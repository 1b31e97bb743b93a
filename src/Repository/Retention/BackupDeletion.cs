using BackupDr.Repository.Backups;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Wal;

namespace BackupDr.Repository.Retention;

/// <summary>What one deletion removed.</summary>
internal sealed record DeletedBackup(string Target, string BackupId, int Objects, long Bytes);

/// <summary>
/// Deletes backups in the order that keeps the repository consistent at every instant: the manifest first (from then
/// on the backup does not exist for list, verify, restore or drill), then the objects it names, then anything else
/// left in its folder. A failure part-way leaves only manifest-less objects, which the orphan sweep removes later.
/// </summary>
internal static class BackupDeletion
{
    /// <summary>
    /// Backup folders without a manifest are swept only when their id (the start time) is older than this: a backup in
    /// progress has no manifest yet, and the longest dumps of a fleet take hours.
    /// </summary>
    public static readonly TimeSpan OrphanGracePeriod = TimeSpan.FromDays(2);

    /// <summary>Deletes a dump backup, or a PITR base backup (a manifest with a <c>pitr</c> section, under <c>pitr/base/</c>).</summary>
    public static async Task<DeletedBackup> DeleteAsync(IObjectStore store, BackupManifest manifest, CancellationToken cancellationToken)
    {
        var id = BackupId.Parse(manifest.BackupId);
        var isBase = manifest.Pitr is not null;
        await store.DeleteAsync(isBase ? BaseBackups.Manifest(manifest.Target, id) : RepositoryLayout.Manifest(manifest.Target, id), cancellationToken);
        var objects = 1;
        long bytes = 0;
        foreach (var entry in manifest.Objects)
        {
            await store.DeleteAsync(ObjectKey.Parse(entry.Key), cancellationToken);
            objects++;
            bytes += entry.SizeBytes;
        }

        var folder = isBase ? BaseBackups.Folder(manifest.Target, id) : RepositoryLayout.BackupFolder(manifest.Target, id);
        var (extra, extraBytes) = await DeleteFolderAsync(store, folder, cancellationToken);
        return new DeletedBackup(manifest.Target, manifest.BackupId, objects + extra, bytes + extraBytes);
    }

    /// <summary>
    /// Backup folders of <paramref name="target"/> that hold objects but no manifest and started before the grace period:
    /// interrupted or killed backups, and deletions that stopped part-way.
    /// </summary>
    public static async Task<IReadOnlyList<OrphanBackup>> FindOrphansAsync(IObjectStore store, string target, TimeProvider time, CancellationToken cancellationToken)
    {
        var folders = new Dictionary<string, (bool HasManifest, int Objects, long Bytes)>(StringComparer.Ordinal);
        await foreach (var entry in store.ListAsync(RepositoryLayout.BackupsPrefix(target), cancellationToken))
        {
            var segments = entry.Key.Value.Split('/');
            if (segments.Length < 5)
            {
                continue;
            }

            var folder = segments[3];
            var current = folders.GetValueOrDefault(folder);
            folders[folder] = (current.HasManifest || RepositoryLayout.IsManifest(entry.Key), current.Objects + 1, current.Bytes + entry.SizeBytes);
        }

        var cutoff = time.GetUtcNow() - OrphanGracePeriod;
        return folders
            .Where(f => !f.Value.HasManifest && BackupId.TryParse(f.Key, out var id) && id.StartedAt < cutoff)
            .Select(f => new OrphanBackup(target, f.Key, f.Value.Objects, f.Value.Bytes))
            .ToList();
    }

    public static async Task<DeletedBackup> DeleteOrphanAsync(IObjectStore store, OrphanBackup orphan, CancellationToken cancellationToken)
    {
        var (objects, bytes) = await DeleteFolderAsync(store, RepositoryLayout.BackupFolder(orphan.Target, BackupId.Parse(orphan.BackupId)), cancellationToken);
        return new DeletedBackup(orphan.Target, orphan.BackupId, objects, bytes);
    }

    private static async Task<(int Objects, long Bytes)> DeleteFolderAsync(IObjectStore store, ObjectKey folder, CancellationToken cancellationToken)
    {
        var left = new List<ObjectInfo>();
        await foreach (var entry in store.ListAsync(folder.Value + "/", cancellationToken))
        {
            left.Add(entry);
        }

        foreach (var entry in left)
        {
            await store.DeleteAsync(entry.Key, cancellationToken);
        }

        return (left.Count, left.Sum(e => e.SizeBytes));
    }
}

/// <summary>A backup folder without a manifest: never a backup, only garbage.</summary>
internal sealed record OrphanBackup(string Target, string BackupId, int Objects, long Bytes);
