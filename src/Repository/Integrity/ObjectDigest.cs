using System.Security.Cryptography;

namespace BackupDr.Repository.Integrity;

/// <summary>The size and SHA-256 of an object's bytes, as a manifest records them.</summary>
internal sealed record ObjectDigest
{
    public ObjectDigest(long size, string sha256Hex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentNullException.ThrowIfNull(sha256Hex);
        if (sha256Hex.Length != SHA256.HashSizeInBytes * 2 || !IsHex(sha256Hex))
        {
            throw new ArgumentException("a SHA-256 digest is 64 hexadecimal characters", nameof(sha256Hex));
        }

        Size = size;
        Sha256Hex = sha256Hex.ToLowerInvariant();
    }

    public long Size { get; }

    /// <summary>Lower-case hexadecimal SHA-256, 64 characters.</summary>
    public string Sha256Hex { get; }

    public byte[] Sha256Bytes() => Convert.FromHexString(Sha256Hex);

    public override string ToString() => $"{Size} bytes, sha256 {Sha256Hex}";

    private static bool IsHex(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
