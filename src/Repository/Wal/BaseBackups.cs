using BackupDr.Repository.Backups;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Wal;

/// <summary>
/// Where PITR base backups live and how they are read:
/// <code>
/// targets/&lt;target&gt;/pitr/base/&lt;backup-id&gt;/base.tar.zst.aesgcm   pg_basebackup's tar stream (no WAL), zstd, AES-256-GCM
/// targets/&lt;target&gt;/pitr/base/&lt;backup-id&gt;/manifest.json       written last, sealed like every manifest (schema 3)
/// targets/&lt;target&gt;/pitr/status.json                         the archiver's newest state (lag, slot), rewritten each flush
/// </code>
/// Base backups sit beside <c>backups/</c>, not in it: the dump pipeline (restore, drills, report, retention of dumps)
/// reads <c>backups/</c> and must never pick a cluster tarball for a database restore.
/// </summary>
internal static class BaseBackups
{
    public const string TarObjectName = "base.tar";

    public static string Prefix(string target) => $"targets/{target}/pitr/base/";

    public static ObjectKey Folder(string target, BackupId id) => ObjectKey.Parse($"{Prefix(target)}{id}");

    public static ObjectKey Manifest(string target, BackupId id) => Folder(target, id) / RepositoryLayout.ManifestName;

    public static ObjectKey Status(string target) => ObjectKey.Parse($"targets/{target}/pitr/status.json");

    /// <summary>Every committed base backup of the target, oldest first. A damaged manifest fails the listing.</summary>
    public static async Task<IReadOnlyList<BackupManifest>> ListAsync(IObjectStore store, string target, CancellationToken cancellationToken)
    {
        var manifests = new List<BackupManifest>();
        await foreach (var info in store.ListAsync(Prefix(target), cancellationToken))
        {
            if (info.Key.Name != RepositoryLayout.ManifestName)
            {
                continue;
            }

            var bytes = await BackupCatalog.ReadSmallObjectAsync(store, info.Key, 1 << 20, "a base backup manifest", cancellationToken);
            BackupManifest manifest;
            try
            {
                manifest = BackupManifestSerializer.Deserialize(bytes, info.Key.Value);
            }
            catch (InvalidDataException e)
            {
                throw new CorruptObjectException(info.Key.Value, e.Message, e);
            }

            if (manifest.Pitr is null || !BackupId.TryParse(manifest.BackupId, out var id) || Manifest(manifest.Target, id) != info.Key)
            {
                throw new CorruptObjectException(info.Key.Value, $"it describes {manifest.Target}/{manifest.BackupId}, which is not a base backup stored here");
            }

            manifests.Add(manifest);
        }

        return manifests.OrderBy(m => m.BackupId, StringComparer.Ordinal).ToList();
    }

    /// <summary>The base backup's data key; the manifest's seal is checked (an altered manifest fails here).</summary>
    public static DataKey OpenDataKey(MasterKey masterKey, BackupManifest manifest) =>
        RepositoryKeys.UnwrapDataKey(
            masterKey,
            manifest.Encryption.WrappedDataKey,
            BackupManifestSerializer.SealContext(manifest),
            Manifest(manifest.Target, BackupId.Parse(manifest.BackupId)).Value);

    /// <summary>Seals and stores the manifest, create-only: the base backup exists from here on.</summary>
    public static async Task<BackupManifest> CommitAsync(IObjectStore store, MasterKey masterKey, DataKey dataKey, BackupManifest manifest, CancellationToken cancellationToken)
    {
        manifest = manifest with
        {
            Encryption = manifest.Encryption with
            {
                WrappedDataKey = RepositoryKeys.WrapDataKey(masterKey, dataKey, BackupManifestSerializer.SealContext(manifest)),
            },
        };
        using var bytes = new MemoryStream(BackupManifestSerializer.Serialize(manifest), writable: false);
        await store.PutAsync(Manifest(manifest.Target, BackupId.Parse(manifest.BackupId)), bytes, PutOptions.CreateOnly, cancellationToken);
        return manifest;
    }
}
