using System.Security.Cryptography;

namespace BackupDr.Repository.Crypto;

/// <summary>
/// 32 secret bytes in a pinned array (the GC never leaves copies behind when it compacts), zeroed on
/// <see cref="Dispose"/>. Never printable: <see cref="ToString"/> says it is redacted.
/// </summary>
internal sealed class KeyMaterial : IDisposable
{
    public const int Length = 32;

    private readonly byte[] _bytes = GC.AllocateArray<byte>(Length, pinned: true);
    private bool _disposed;

    private KeyMaterial()
    {
    }

    public static KeyMaterial CreateRandom()
    {
        var material = new KeyMaterial();
        RandomNumberGenerator.Fill(material._bytes);
        return material;
    }

    public static KeyMaterial CopyOf(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length)
        {
            throw new ArgumentException($"key material is {Length} bytes", nameof(bytes));
        }

        var material = new KeyMaterial();
        bytes.CopyTo(material._bytes);
        return material;
    }

    /// <summary>The secret bytes; valid until <see cref="Dispose"/>.</summary>
    public ReadOnlySpan<byte> AsSpan()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _bytes;
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            CryptographicOperations.ZeroMemory(_bytes);
            _disposed = true;
        }
    }

    public override string ToString() => "[redacted key material]";
}
