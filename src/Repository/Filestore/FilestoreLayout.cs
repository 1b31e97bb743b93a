using System.Security.Cryptography;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Filestore;

/// <summary>
/// Where a target's filestore contents live (beside <c>backups/</c>):
/// <code>
/// targets/&lt;target&gt;/blobs/&lt;pack-id&gt;.pack.aesgcm       blobs (small files together, a large file alone), encrypted
/// targets/&lt;target&gt;/blobs/&lt;pack-id&gt;.toc.zst.aesgcm    the pack's table of contents; written after the pack
/// targets/&lt;target&gt;/locks/&lt;kind&gt;-&lt;id&gt;.json           a running backup or prune (see RepositoryLock)
/// </code>
/// A pack id is <c>yyyyMMddTHHmmssfffZ-&lt;16 hex&gt;</c> (UTC creation time, random), so ids sort by age.
/// </summary>
internal static class FilestoreLayout
{
    public const string PackSuffix = ".pack.aesgcm";
    public const string TocSuffix = ".toc.zst.aesgcm";

    public static string BlobsPrefix(string target) => $"targets/{target}/blobs/";

    public static string LocksPrefix(string target) => $"targets/{target}/locks/";

    public static ObjectKey Pack(string target, string packId) => ObjectKey.Parse(BlobsPrefix(target) + packId + PackSuffix);

    public static ObjectKey Toc(string target, string packId) => ObjectKey.Parse(BlobsPrefix(target) + packId + TocSuffix);

    /// <summary>The name bound into a pack's encryption (a pack moved to another id fails authentication).</summary>
    public static string PackObjectName(string packId) => "filestore-pack/" + packId;

    public static string TocObjectName(string packId) => "filestore-toc/" + packId;

    public static string NewPackId(TimeProvider time) =>
        $"{time.GetUtcNow().UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";

    /// <summary>The pack id of a pack or table-of-contents key, and which of the two it is; false for anything else.</summary>
    public static bool TryParse(ObjectKey key, string target, out string packId, out bool isToc)
    {
        packId = "";
        isToc = false;
        var prefix = BlobsPrefix(target);
        if (!key.StartsWith(prefix))
        {
            return false;
        }

        var name = key.Value[prefix.Length..];
        if (name.EndsWith(PackSuffix, StringComparison.Ordinal))
        {
            packId = name[..^PackSuffix.Length];
        }
        else if (name.EndsWith(TocSuffix, StringComparison.Ordinal))
        {
            packId = name[..^TocSuffix.Length];
            isToc = true;
        }

        return packId.Length > 0 && !packId.Contains('/', StringComparison.Ordinal);
    }
}
