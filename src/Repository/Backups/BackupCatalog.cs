using System.Buffers;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <summary>No backup matches what was asked for.</summary>
internal sealed class BackupNotFoundException(string message) : Exception(message);

/// <summary>
/// The repository is the catalog: backups are found by listing manifests, nothing else. A backup whose manifest
/// is missing does not exist (it was interrupted, or is being deleted); its orphan objects are never listed.
/// </summary>
internal static class BackupCatalog
{
    private const int ManifestMaxBytes = 4 << 20;

    /// <summary>Every committed backup of a target (or of all targets), newest first.</summary>
    public static async Task<IReadOnlyList<BackupManifest>> ListAsync(IObjectStore store, string? target, CancellationToken cancellationToken)
    {
        var prefix = target is null ? RepositoryLayout.TargetsPrefix : RepositoryLayout.BackupsPrefix(target);
        var manifests = new List<BackupManifest>();
        await foreach (var entry in store.ListAsync(prefix, cancellationToken))
        {
            if (RepositoryLayout.IsManifest(entry.Key))
            {
                manifests.Add(await ReadManifestAsync(store, entry.Key, cancellationToken));
            }
        }

        return manifests
            .OrderByDescending(m => m.BackupId, StringComparer.Ordinal)
            .ThenBy(m => m.Target, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The newest committed backup of a target that satisfies <paramref name="predicate"/>, or null. Manifests are read
    /// newest first and only until one matches (one read in the usual case, not one per retained backup).
    /// </summary>
    public static async Task<BackupManifest?> FindNewestAsync(
        IObjectStore store, string target, Func<BackupManifest, bool> predicate, CancellationToken cancellationToken)
    {
        var keys = new List<ObjectKey>();
        await foreach (var entry in store.ListAsync(RepositoryLayout.BackupsPrefix(target), cancellationToken))
        {
            if (RepositoryLayout.IsManifest(entry.Key))
            {
                keys.Add(entry.Key);
            }
        }

        foreach (var key in keys.OrderDescending())
        {
            var manifest = await ReadManifestAsync(store, key, cancellationToken);
            if (predicate(manifest))
            {
                return manifest;
            }
        }

        return null;
    }

    /// <summary>Finds a backup by id, or the newest with <c>latest</c>.</summary>
    public static async Task<BackupManifest> ResolveAsync(IObjectStore store, string target, string reference, CancellationToken cancellationToken)
    {
        if (reference == "latest")
        {
            var all = await ListAsync(store, target, cancellationToken);
            return all.Count > 0
                ? all[0]
                : throw new BackupNotFoundException($"target '{target}' has no backup in {store.Location}; take one with 'backupdr backup --target {target}'.");
        }

        if (!BackupId.TryParse(reference, out var id))
        {
            throw new BackupNotFoundException($"'{reference}' is not a backup id (e.g. 20261123T145012123Z-3f9a1c) or 'latest'.");
        }

        var key = RepositoryLayout.Manifest(target, id);
        try
        {
            return await ReadManifestAsync(store, key, cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            throw new BackupNotFoundException($"target '{target}' has no backup {id} in {store.Location} (see 'backupdr list --target {target}').");
        }
    }

    public static async Task<BackupManifest> ReadManifestAsync(IObjectStore store, ObjectKey key, CancellationToken cancellationToken)
    {
        var bytes = await ReadSmallObjectAsync(store, key, ManifestMaxBytes, "a manifest", cancellationToken);
        BackupManifest manifest;
        try
        {
            manifest = BackupManifestSerializer.Deserialize(bytes, key.Value);
        }
        catch (InvalidDataException e)
        {
            throw new CorruptObjectException(key.Value, e.Message, e);
        }

        if (!BackupId.TryParse(manifest.BackupId, out var id) || key != RepositoryLayout.Manifest(manifest.Target, id))
        {
            throw new CorruptObjectException(key.Value, $"it describes backup {manifest.Target}/{manifest.BackupId}, which belongs elsewhere");
        }

        return manifest;
    }

    /// <summary>
    /// The whole content of a small plaintext document (a manifest, a drill record); anything larger than
    /// <paramref name="maxBytes"/> is not what it claims to be and raises <see cref="CorruptObjectException"/>.
    /// </summary>
    public static async Task<byte[]> ReadSmallObjectAsync(IObjectStore store, ObjectKey key, int maxBytes, string what, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenReadAsync(key, cancellationToken);
        using var buffer = new MemoryStream();

        // Pooled: the report reads tens of thousands of these, and a fresh 80 KiB chunk each was zeroed memory and GC work.
        var chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    throw new CorruptObjectException(key.Value, $"larger than {maxBytes} bytes: not {what}");
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    /// <summary>SHA-256 (hex) of the manifest as stored: names exactly which backup a drill record speaks of.</summary>
    public static async Task<string> ManifestSha256Async(IObjectStore store, BackupManifest manifest, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenReadAsync(RepositoryLayout.Manifest(manifest.Target, BackupId.Parse(manifest.BackupId)), cancellationToken);
        return Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(stream, cancellationToken));
    }

    /// <summary>
    /// The backup's data key, unwrapped with the manifest's seal as context: a manifest altered in any field, or a key
    /// token moved from another backup, fails here with <see cref="CorruptObjectException"/>.
    /// </summary>
    public static DataKey OpenDataKey(MasterKey masterKey, BackupManifest manifest) =>
        RepositoryKeys.UnwrapDataKey(
            masterKey,
            manifest.Encryption.WrappedDataKey,
            BackupManifestSerializer.SealContext(manifest),
            RepositoryLayout.Manifest(manifest.Target, BackupId.Parse(manifest.BackupId)).Value);
}
