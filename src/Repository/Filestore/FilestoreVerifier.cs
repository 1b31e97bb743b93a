using System.Collections.Concurrent;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Filestore;

/// <param name="Packs">Every pack the backup needs, with its problem (null when whole and authentic).</param>
/// <param name="Files">Files whose content could not be read back or does not match its size and SHA-1.</param>
internal sealed record FilestoreVerifyReport(IReadOnlyList<VerifiedObject> Packs, IReadOnlyList<FileDamage> Files);

/// <summary>
/// Reads every pack a backup's filestore needs, in full and in parallel: each segment's authentication, each pack's
/// size and SHA-256, and every file's decompressed size and SHA-1. Also the restore's per-pack loop, so that verify and
/// restore cannot disagree about what a damaged pack means.
/// </summary>
internal static class FilestoreVerifier
{
    public static async Task<FilestoreVerifyReport> VerifyAsync(
        BackupRepository repository, BackupManifest manifest, DataKey dataKey, int parallelism, IProgress<long>? packBytes, CancellationToken cancellationToken)
    {
        var index = await FilestoreObjects.ReadIndexAsync(repository.Store, manifest, dataKey, cancellationToken)
            ?? throw new CorruptObjectException(manifest.BackupId, "the manifest describes a filestore but lists no filestore index");
        using var keys = FilestoreKeys.Derive(repository.MasterKey, manifest.Target);
        return await ForEachPackAsync(repository.Store, keys, index, parallelism, (file, content, token) => PackReader.CopyCheckedAsync(file, content, null, token),
            packBytes, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="handle"/> on every file of <paramref name="index"/>, pack by pack, at most
    /// <paramref name="parallelism"/> packs at a time. The handler returns a problem or null. A pack that is missing or
    /// damaged is reported once, with every file it still owed.
    /// </summary>
    public static async Task<FilestoreVerifyReport> ForEachPackAsync(
        IObjectStore store,
        FilestoreKeys keys,
        FilestoreIndex index,
        int parallelism,
        Func<IndexedFile, Stream, CancellationToken, Task<string?>> handle,
        IProgress<long>? packBytes,
        CancellationToken cancellationToken)
    {
        var packs = index.Packs.ToDictionary(p => p.Id, StringComparer.Ordinal);
        var damage = new ConcurrentQueue<FileDamage>();
        var results = new ConcurrentQueue<VerifiedObject>();
        var groups = index.Files.GroupBy(f => f.Pack, StringComparer.Ordinal).ToList();
        foreach (var orphan in groups.Where(g => !packs.ContainsKey(g.Key)))
        {
            foreach (var file in orphan)
            {
                damage.Enqueue(new FileDamage(file.Name, file.Pack, "the index names a pack it does not list"));
            }
        }

        // The packs are read on the caller's scheduler: a drill's idle-priority threads (IdleCpuScheduler) keep the work.
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken, TaskScheduler = TaskScheduler.Current };
        await Parallel.ForEachAsync(groups.Where(g => packs.ContainsKey(g.Key)), parallel, async (group, token) =>
        {
            var pack = packs[group.Key];
            var done = new HashSet<string>(StringComparer.Ordinal);
            string? problem = null;
            try
            {
                await PackReader.ReadAsync(store, keys, pack, [.. group], async (file, content, innerToken) =>
                {
                    if (await handle(file, content, innerToken) is { } fileProblem)
                    {
                        damage.Enqueue(new FileDamage(file.Name, pack.Id, fileProblem));
                    }

                    done.Add(file.Name);
                }, packBytes, token);
            }
            catch (CorruptObjectException e)
            {
                problem = e.Reason;
            }
            catch (ObjectNotFoundException)
            {
                problem = "missing from the repository";
            }

            results.Enqueue(new VerifiedObject("filestore pack", pack.Key, problem));
            if (problem is not null)
            {
                foreach (var file in group.Where(f => !done.Contains(f.Name)))
                {
                    damage.Enqueue(new FileDamage(file.Name, pack.Id, $"its pack is damaged: {problem}"));
                }
            }
        });

        return new FilestoreVerifyReport(
            [.. results.OrderBy(r => r.Key, StringComparer.Ordinal)],
            [.. damage.OrderBy(d => d.Name, StringComparer.Ordinal)]);
    }
}
