using BackupDr.Repository.Backups;
using BackupDr.Repository.Compression;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Filestore;

/// <summary>Reads the filestore's small objects: a backup's index and a pack's table of contents.</summary>
internal static class FilestoreObjects
{
    /// <summary>The filestore index of a backup, or null for a backup taken before filestore backups existed.</summary>
    /// <exception cref="CorruptObjectException">The index is damaged.</exception>
    public static async Task<FilestoreIndex?> ReadIndexAsync(IObjectStore store, BackupManifest manifest, DataKey dataKey, CancellationToken cancellationToken)
    {
        var entry = manifest.Objects.FirstOrDefault(o => o.Name == FilestoreIndex.ObjectName);
        if (entry is null)
        {
            return null;
        }

        await using var stream = await BackupObjects.OpenReadAsync(store, entry, dataKey, cancellationToken);
        var index = FilestoreJson.ReadIndex(await ReadAllAsync(stream, cancellationToken), entry.Key);
        return index.Target == manifest.Target && index.BackupId == manifest.BackupId
            ? index
            : throw new CorruptObjectException(entry.Key, $"it is the index of {index.Target}/{index.BackupId}, not of this backup");
    }

    /// <summary>
    /// A pack's table of contents. Its SHA-256 is not recorded anywhere, so it is checked by authentication alone
    /// (every segment's tag, the final segment, the zstd checksum) and by naming the pack it sits beside.
    /// </summary>
    public static async Task<PackToc> ReadTocAsync(IObjectStore store, FilestoreKeys keys, string target, string packId, CancellationToken cancellationToken)
    {
        var key = FilestoreLayout.Toc(target, packId);
        await using var stored = await store.OpenReadAsync(key, cancellationToken);
        await using var decrypting = new DecryptingStream(stored, keys.PackKey, FilestoreLayout.TocObjectName(packId), key.Value);
        await using var plain = CompressionStreams.Decompress(decrypting, Codec.Zstd, key.Value);
        var toc = FilestoreJson.ReadToc(await ReadAllAsync(plain, cancellationToken), key.Value);
        return toc.Target == target && toc.Pack.Id == packId && toc.Pack.Key == FilestoreLayout.Pack(target, packId).Value
            ? toc
            : throw new CorruptObjectException(key.Value, $"it describes pack {toc.Target}/{toc.Pack.Id}, not the pack beside it");
    }

    /// <summary>Opens a pack's plaintext; its size and SHA-256 are checked when it is read to the end.</summary>
    public static Task<Stream> OpenPackAsync(IObjectStore store, FilestoreKeys keys, IndexedPack pack, CancellationToken cancellationToken) =>
        BackupObjects.OpenReadAsync(store, ObjectKey.Parse(pack.Key), FilestoreLayout.PackObjectName(pack.Id), pack.Digest, Codec.None, keys.PackKey, cancellationToken);

    private static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }
}
