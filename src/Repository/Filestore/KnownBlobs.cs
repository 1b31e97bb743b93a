using System.Collections.Concurrent;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Filestore;

/// <summary>A blob the repository already holds for the target, with the pack it is in.</summary>
internal sealed record KnownBlob(IndexedPack Pack, PackedBlob Blob);

/// <summary>A pack's table of contents that could not be used; its blobs are uploaded again if needed.</summary>
internal sealed record SkippedPack(string PackId, string Reason);

/// <summary>
/// The blobs a backup may reuse instead of reading and uploading the file again. Built from one listing of the
/// target's <c>blobs/</c> folder, the newest committed backup's index (one object, covering nearly everything), and
/// the tables of contents of the packs that index does not name (packs of interrupted backups, or of older backups
/// whose files were since deleted). A blob counts only when its pack is listed with the size recorded for it, so a
/// pack that is missing or of the wrong size is never referenced again; a pack without a table of contents is
/// incomplete and never reused.
/// </summary>
internal sealed class KnownBlobs
{
    private readonly Dictionary<string, KnownBlob> _blobs = new(StringComparer.Ordinal);

    private KnownBlobs()
    {
    }

    public int Count => _blobs.Count;

    /// <summary>Tables of contents read (the listing and the latest index are not counted).</summary>
    public int TablesRead { get; private set; }

    public IReadOnlyList<SkippedPack> Skipped { get; private set; } = [];

    /// <summary>The stored blob for content of this id and size, if any.</summary>
    public bool TryGet(string blobId, long sizeBytes, out KnownBlob blob) =>
        _blobs.TryGetValue(blobId, out blob!) && blob.Blob.SizeBytes == sizeBytes;

    public static async Task<KnownBlobs> LoadAsync(
        IObjectStore store, FilestoreKeys keys, string target, FilestoreIndex? latest, int parallelism, CancellationToken cancellationToken)
    {
        var packs = new Dictionary<string, long>(StringComparer.Ordinal);
        var tocs = new List<string>();
        await foreach (var entry in store.ListAsync(FilestoreLayout.BlobsPrefix(target), cancellationToken))
        {
            if (FilestoreLayout.TryParse(entry.Key, target, out var packId, out var isToc))
            {
                if (isToc)
                {
                    tocs.Add(packId);
                }
                else
                {
                    packs[packId] = entry.SizeBytes;
                }
            }
        }

        var known = new KnownBlobs();
        var covered = new HashSet<string>(StringComparer.Ordinal);
        if (latest is not null)
        {
            var indexed = latest.Packs.ToDictionary(p => p.Id, StringComparer.Ordinal);
            foreach (var file in latest.Files)
            {
                if (indexed.TryGetValue(file.Pack, out var pack) && packs.TryGetValue(pack.Id, out var size) && size == pack.SizeBytes)
                {
                    known._blobs.TryAdd(file.Blob, new KnownBlob(pack, new PackedBlob(file.Blob, file.Offset, file.Length, file.SizeBytes, file.Codec)));
                }
            }

            covered.UnionWith(indexed.Keys);
        }

        var skipped = new ConcurrentQueue<SkippedPack>();
        var read = new ConcurrentQueue<PackToc>();
        var toRead = tocs.Where(id => !covered.Contains(id)).ToList();
        await Parallel.ForEachAsync(toRead, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (packId, token) =>
        {
            if (!packs.TryGetValue(packId, out var size))
            {
                skipped.Enqueue(new SkippedPack(packId, "its pack object is missing"));
                return;
            }

            try
            {
                var toc = await FilestoreObjects.ReadTocAsync(store, keys, target, packId, token);
                if (toc.Pack.SizeBytes == size)
                {
                    read.Enqueue(toc);
                }
                else
                {
                    skipped.Enqueue(new SkippedPack(packId, $"the pack holds {size} bytes, its table of contents says {toc.Pack.SizeBytes}"));
                }
            }
            catch (CorruptObjectException e)
            {
                skipped.Enqueue(new SkippedPack(packId, e.Reason));
            }
            catch (ObjectNotFoundException)
            {
                // Deleted by prune between the listing and the read: the pack goes with it.
                skipped.Enqueue(new SkippedPack(packId, "its table of contents disappeared"));
            }
        });

        // Oldest first, so that a blob stored twice resolves to the same pack on every run.
        foreach (var toc in read.OrderBy(t => t.Pack.Id, StringComparer.Ordinal))
        {
            foreach (var blob in toc.Blobs)
            {
                known._blobs.TryAdd(blob.Id, new KnownBlob(toc.Pack, blob));
            }
        }

        known.TablesRead = toRead.Count;
        known.Skipped = [.. skipped.OrderBy(s => s.PackId, StringComparer.Ordinal)];
        return known;
    }
}
