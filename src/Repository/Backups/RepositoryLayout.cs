using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <summary>
/// Where everything lives in a repository (format version 1):
/// <code>
/// repository.json                                           format, key slots (see Crypto/RepositoryDocument)
/// targets/&lt;target&gt;/backups/&lt;backup-id&gt;/manifest.json            written last: the backup exists iff it does
/// targets/&lt;target&gt;/backups/&lt;backup-id&gt;/database.dump.zst.aesgcm   the pg_dump stream, zstd, AES-256-GCM segments
/// </code>
/// </summary>
internal static class RepositoryLayout
{
    public const string ManifestName = "manifest.json";
    public const string DatabaseObjectName = "database.dump";

    public static ObjectKey RepositoryDocument { get; } = ObjectKey.Parse("repository.json");

    public static string TargetsPrefix => "targets/";

    public static string BackupsPrefix(string target) => $"targets/{target}/backups/";

    public static ObjectKey BackupFolder(string target, BackupId backup) => ObjectKey.Parse($"targets/{target}/backups/{backup}");

    public static ObjectKey Manifest(string target, BackupId backup) => BackupFolder(target, backup) / ManifestName;

    /// <summary>True for <c>targets/&lt;target&gt;/backups/&lt;id&gt;/manifest.json</c>.</summary>
    public static bool IsManifest(ObjectKey key)
    {
        var segments = key.Value.Split('/');
        return segments is ["targets", _, "backups", _, ManifestName];
    }

    /// <summary>The stored object of a logical object: its name plus codec and cipher suffixes.</summary>
    public static ObjectKey Object(string target, BackupId backup, string objectName, string suffix) =>
        BackupFolder(target, backup) / (objectName + suffix);
}
