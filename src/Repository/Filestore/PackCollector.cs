using BackupDr.Repository.Backups;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Filestore;

/// <summary>Objects prune may delete, as one unit (a pack with its table of contents, or the objects of one uncommitted backup).</summary>
/// <param name="What">"pack" or "uncommitted backup".</param>
/// <param name="Id">The pack id or backup id.</param>
/// <param name="Keys">Deleted in this order (a table of contents before its pack, so no reader trusts a half-deleted pack).</param>
internal sealed record Garbage(string What, string Id, IReadOnlyList<ObjectKey> Keys, long Bytes, DateTimeOffset LastModified);

/// <param name="Backups">Committed backups whose indexes were read.</param>
/// <param name="ReferencedPacks">Packs some retained backup needs: kept.</param>
/// <param name="YoungPacks">Unreferenced packs kept because they are younger than the grace period.</param>
/// <param name="Garbage">What may go, oldest first.</param>
/// <param name="StaleLocks">Lock objects of dead processes.</param>
internal sealed record CollectionPlan(
    string Target, int Backups, int ReferencedPacks, int YoungPacks, IReadOnlyList<Garbage> Garbage, IReadOnlyList<ObjectKey> StaleLocks)
{
    public long Bytes => Garbage.Sum(g => g.Bytes);
}

/// <summary>
/// Garbage collection of a target's repository objects, the part of prune that issue [5]'s retention calls after it
/// deletes expired manifests. Safety rule (docs/architecture.md, Filestore): a pack is deleted only when
/// (1) no committed manifest's filestore index names it, (2) it is older than the grace period, and (3) the caller
/// holds the target's exclusive prune lock, so no backup is running: a running backup holds a shared lock from
/// before it decides which packs to reuse until after its manifest is written. If any manifest's index cannot be
/// read, nothing is planned: what that backup needs is unknown.
/// </summary>
internal static class PackCollector
{
    public static async Task<CollectionPlan> PlanAsync(BackupRepository repository, string target, TimeSpan grace, TimeProvider time, CancellationToken cancellationToken)
    {
        var store = repository.Store;
        var now = time.GetUtcNow();
        var manifests = await BackupCatalog.ListAsync(store, target, cancellationToken);
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var manifest in manifests.Where(m => m.Filestore is not null))
        {
            using var dataKey = BackupCatalog.OpenDataKey(repository.MasterKey, manifest);
            var index = await FilestoreObjects.ReadIndexAsync(store, manifest, dataKey, cancellationToken)
                ?? throw new Integrity.CorruptObjectException(manifest.BackupId, "the manifest describes a filestore but lists no filestore index");
            referenced.UnionWith(index.Packs.Select(p => p.Id));
        }

        var packs = new Dictionary<string, List<ObjectInfo>>(StringComparer.Ordinal);
        await foreach (var entry in store.ListAsync(FilestoreLayout.BlobsPrefix(target), cancellationToken))
        {
            if (FilestoreLayout.TryParse(entry.Key, target, out var packId, out _))
            {
                (packs.TryGetValue(packId, out var list) ? list : packs[packId] = []).Add(entry);
            }
        }

        var garbage = new List<Garbage>();
        var young = 0;
        foreach (var (packId, objects) in packs)
        {
            if (referenced.Contains(packId))
            {
                continue;
            }

            var newest = objects.Max(o => o.LastModified);
            if (now - newest < grace)
            {
                young++;
                continue;
            }

            var keys = objects.Select(o => o.Key).OrderBy(k => k.Value.EndsWith(FilestoreLayout.TocSuffix, StringComparison.Ordinal) ? 0 : 1).ToList();
            garbage.Add(new Garbage("pack", packId, keys, objects.Sum(o => o.SizeBytes), newest));
        }

        garbage.AddRange(await UncommittedBackupsAsync(store, target, manifests, now, grace, cancellationToken));
        var staleLocks = new List<ObjectKey>();
        await foreach (var entry in store.ListAsync(FilestoreLayout.LocksPrefix(target), cancellationToken))
        {
            if (now - entry.LastModified > RepositoryLock.StaleAfter)
            {
                staleLocks.Add(entry.Key);
            }
        }

        return new CollectionPlan(target, manifests.Count, referenced.Count, young, [.. garbage.OrderBy(g => g.LastModified)], staleLocks);
    }

    /// <summary>Deletes what the plan found. Call it while holding the target's prune lock.</summary>
    public static async Task DeleteAsync(IObjectStore store, CollectionPlan plan, CancellationToken cancellationToken)
    {
        foreach (var item in plan.Garbage)
        {
            foreach (var key in item.Keys)
            {
                await store.DeleteAsync(key, cancellationToken);
            }
        }

        foreach (var key in plan.StaleLocks)
        {
            await store.DeleteAsync(key, cancellationToken);
        }
    }

    /// <summary>Plans, and with <paramref name="apply"/> deletes under an exclusive prune lock (planned again inside it).</summary>
    /// <exception cref="RepositoryLockedException">A backup or another prune of the target is running.</exception>
    public static async Task<CollectionPlan> CollectAsync(
        BackupRepository repository, string target, TimeSpan grace, bool apply, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!apply)
        {
            return await PlanAsync(repository, target, grace, time, cancellationToken);
        }

        await using var held = await RepositoryLock.AcquireAsync(repository.Store, target, LockKind.Prune, BackupId.New(time).Value, time, cancellationToken);
        var plan = await PlanAsync(repository, target, grace, time, cancellationToken);
        held.EnsureHeld();
        await DeleteAsync(repository.Store, plan, cancellationToken);
        return plan;
    }

    /// <summary>Objects of backups that never got a manifest (failed, cancelled or killed), once older than the grace period.</summary>
    private static async Task<IEnumerable<Garbage>> UncommittedBackupsAsync(
        IObjectStore store, string target, IReadOnlyList<BackupManifest> manifests, DateTimeOffset now, TimeSpan grace, CancellationToken cancellationToken)
    {
        var committed = manifests.Select(m => m.BackupId).ToHashSet(StringComparer.Ordinal);
        var folders = new Dictionary<string, List<ObjectInfo>>(StringComparer.Ordinal);
        var prefix = RepositoryLayout.BackupsPrefix(target);
        await foreach (var entry in store.ListAsync(prefix, cancellationToken))
        {
            var rest = entry.Key.Value[prefix.Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && !committed.Contains(rest[..slash]) && entry.Key.Name != RepositoryLayout.ManifestName)
            {
                (folders.TryGetValue(rest[..slash], out var list) ? list : folders[rest[..slash]] = []).Add(entry);
            }
        }

        return folders
            .Where(f => now - f.Value.Max(o => o.LastModified) >= grace)
            .Select(f => new Garbage("uncommitted backup", f.Key, [.. f.Value.Select(o => o.Key)], f.Value.Sum(o => o.SizeBytes), f.Value.Max(o => o.LastModified)));
    }
}
