using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <summary>
/// Where everything lives in a repository (format version 1):
/// <code>
/// repository.json                                           format, key slots (see Crypto/RepositoryDocument)
/// targets/&lt;target&gt;/backups/&lt;backup-id&gt;/manifest.json            written last: the backup exists iff it does
/// targets/&lt;target&gt;/backups/&lt;backup-id&gt;/database.dump.zst.aesgcm   the pg_dump stream, zstd, AES-256-GCM segments
/// targets/&lt;target&gt;/drills/&lt;drill-id&gt;.json                         a sealed drill record (Drills/DrillRecord)
/// targets/&lt;target&gt;/drills/open/&lt;drill-id&gt;.json                    a running drill's lease (Drills/DrillLease)
/// </code>
/// </summary>
internal static class RepositoryLayout
{
    public const string ManifestName = "manifest.json";
    public const string DatabaseObjectName = "database.dump";

    public static ObjectKey RepositoryDocument { get; } = ObjectKey.Parse("repository.json");

    public static string TargetsPrefix => "targets/";

    /// <summary>Everything of one target: backups, filestore packs, drills, WAL.</summary>
    public static string TargetPrefix(string target) => $"targets/{target}/";

    public static string BackupsPrefix(string target) => $"targets/{target}/backups/";

    public static ObjectKey BackupFolder(string target, BackupId backup) => ObjectKey.Parse($"targets/{target}/backups/{backup}");

    public static ObjectKey Manifest(string target, BackupId backup) => BackupFolder(target, backup) / ManifestName;

    /// <summary>True for <c>targets/&lt;target&gt;/backups/&lt;id&gt;/manifest.json</c>.</summary>
    public static bool IsManifest(ObjectKey key)
    {
        var segments = key.Value.Split('/');
        return segments is ["targets", _, "backups", _, ManifestName];
    }

    public static string DrillsPrefix(string target) => $"targets/{target}/drills/";

    /// <summary>Drill ids have the backup id format (UTC start time + random suffix), so they sort by time too.</summary>
    public static ObjectKey DrillRecord(string target, BackupId drill) => ObjectKey.Parse($"{DrillsPrefix(target)}{drill}.json");

    /// <summary>True for <c>targets/&lt;target&gt;/drills/&lt;id&gt;.json</c>.</summary>
    public static bool IsDrillRecord(ObjectKey key) =>
        key.Value.Split('/') is ["targets", _, "drills", var name] && name.EndsWith(".json", StringComparison.Ordinal);

    /// <summary>The stored object of a logical object: its name plus codec and cipher suffixes.</summary>
    public static ObjectKey Object(string target, BackupId backup, string objectName, string suffix) =>
        BackupFolder(target, backup) / (objectName + suffix);
}
