using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace BackupDr.Repository.Filestore;

/// <summary>
/// SHA-1 as Odoo uses it: the name of every filestore file. It identifies content and detects damage at the
/// source; it protects nothing (blob ids in the repository are HMAC-SHA256, contents are authenticated by AES-GCM
/// and SHA-256). The one place the analyzer's weak-hash rule is waived.
/// </summary>
[SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "Odoo's file naming, not a security function")]
internal static class OdooSha1
{
    public const int Length = 20;

    public static void HashData(ReadOnlySpan<byte> content, Span<byte> sha1) => SHA1.HashData(content, sha1);

    public static IncrementalHash CreateIncremental() => IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
}
