using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using BackupDr.Repository.Crypto;

namespace BackupDr.Repository.Filestore;

/// <summary>
/// The keys of a target's filestore, derived from the repository master key (HKDF-SHA256, the target in the info):
/// <list type="bullet">
/// <item>the blob-id key: a blob's id is HMAC-SHA256(blob-id key, SHA-1 of the content), first 16 bytes in hex, so
/// ids deduplicate within the target but reveal neither the SHA-1 of a customer's file nor whether two targets hold
/// the same file;</item>
/// <item>the pack key: encrypts packs and their tables of contents (the same segmented AES-256-GCM format as every
/// object; each object derives its own key from this one, its random salt and its name).</item>
/// </list>
/// Packs outlive the backup that wrote them (later backups reference them), so they cannot use a backup's data key.
/// Dispose to zero both keys.
/// </summary>
internal sealed class FilestoreKeys : IDisposable
{
    public const int BlobIdBytes = 16;

    private readonly KeyMaterial _blobIdKey;
    private readonly ConcurrentBag<IncrementalHash> _macs = [];

    private FilestoreKeys(KeyMaterial blobIdKey, DataKey packKey)
    {
        _blobIdKey = blobIdKey;
        PackKey = packKey;
    }

    public DataKey PackKey { get; }

    public static FilestoreKeys Derive(MasterKey masterKey, string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        Span<byte> derived = stackalloc byte[KeyMaterial.Length];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey.AsSpan(), derived, [], Encoding.UTF8.GetBytes("backupdr/filestore/v1/blob-id/" + target));
            var blobIdKey = KeyMaterial.CopyOf(derived);
            HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey.AsSpan(), derived, [], Encoding.UTF8.GetBytes("backupdr/filestore/v1/pack-key/" + target));
            return new FilestoreKeys(blobIdKey, DataKey.FromBytes(derived));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(derived);
        }
    }

    /// <summary>The blob id of content whose SHA-1 is <paramref name="sha1"/> (20 bytes): 32 lower-case hex characters.</summary>
    public string BlobId(ReadOnlySpan<byte> sha1)
    {
        // A keyed HMAC context is reused (one per concurrent caller): creating one per call cost more than the hash.
        if (!_macs.TryTake(out var hmac))
        {
            hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _blobIdKey.AsSpan());
        }

        try
        {
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            hmac.AppendData(sha1);
            hmac.GetHashAndReset(mac);
            return Convert.ToHexStringLower(mac[..BlobIdBytes]);
        }
        finally
        {
            _macs.Add(hmac);
        }
    }

    /// <summary>The blob id of content whose SHA-1 is the 40-character hex <paramref name="sha1Hex"/>.</summary>
    public string BlobId(string sha1Hex)
    {
        Span<byte> sha1 = stackalloc byte[OdooSha1.Length];
        Convert.FromHexString(sha1Hex, sha1, out _, out _);
        return BlobId(sha1);
    }

    public void Dispose()
    {
        while (_macs.TryTake(out var hmac))
        {
            hmac.Dispose();
        }

        _blobIdKey.Dispose();
        PackKey.Dispose();
    }
}
