using System.Diagnostics;
using System.Security.Cryptography;

namespace BackupDr.Repository.Crypto;

/// <summary>
/// The repository's master key: 32 random bytes made once by <see cref="RepositoryKeys.Create"/>, stored only
/// wrapped (encrypted) in repository.json key slots, and used to wrap each backup's data key. Dispose it as soon as
/// the work is done: the bytes are zeroed.
/// </summary>
/// <remarks>
/// <see cref="KeyId"/> is a fingerprint, not a secret: the first 8 bytes of HMAC-SHA256(key, "backupdr/master-key-id/v1")
/// in hex. It stays the same when the passphrase changes, so a wrapped data key can say which master key it needs.
/// </remarks>
[DebuggerDisplay("MasterKey {KeyId} (redacted)")]
internal sealed class MasterKey : IDisposable
{
    private static readonly byte[] FingerprintLabel = "backupdr/master-key-id/v1"u8.ToArray();

    private readonly KeyMaterial _material;

    private MasterKey(KeyMaterial material)
    {
        _material = material;
        KeyId = Fingerprint(material.AsSpan());
    }

    /// <summary>16 lower-case hex characters identifying this master key.</summary>
    public string KeyId { get; }

    internal static MasterKey CreateRandom() => new(KeyMaterial.CreateRandom());

    internal static MasterKey FromBytes(ReadOnlySpan<byte> bytes) => new(KeyMaterial.CopyOf(bytes));

    /// <summary>The secret bytes; valid until <see cref="Dispose"/>.</summary>
    internal ReadOnlySpan<byte> AsSpan() => _material.AsSpan();

    /// <summary>
    /// A separate key for one purpose (HKDF-SHA256 with the purpose as info), so that a MAC or id made with it reveals
    /// nothing about the master key or about keys for other purposes. The caller disposes it.
    /// </summary>
    internal KeyMaterial DeriveKey(string purpose)
    {
        Span<byte> derived = stackalloc byte[KeyMaterial.Length];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _material.AsSpan(), derived, salt: [], info: System.Text.Encoding.UTF8.GetBytes(purpose));
        var key = KeyMaterial.CopyOf(derived);
        CryptographicOperations.ZeroMemory(derived);
        return key;
    }

    public void Dispose() => _material.Dispose();

    public override string ToString() => $"MasterKey {KeyId} (redacted)";

    internal static string Fingerprint(ReadOnlySpan<byte> key)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, FingerprintLabel, mac);
        return Convert.ToHexStringLower(mac[..8]);
    }
}
