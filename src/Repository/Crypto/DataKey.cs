using System.Diagnostics;

namespace BackupDr.Repository.Crypto;

/// <summary>
/// The key of one backup: 32 random bytes that encrypt the backup's objects (each object derives its own key from
/// it, see <see cref="EncryptedObjectFormat"/>). Stored only wrapped by the master key
/// (<see cref="RepositoryKeys.WrapDataKey"/>). Dispose it when done: the bytes are zeroed.
/// </summary>
[DebuggerDisplay("DataKey (redacted)")]
internal sealed class DataKey : IDisposable
{
    private readonly KeyMaterial _material;

    private DataKey(KeyMaterial material)
    {
        _material = material;
    }

    /// <summary>A fresh key of 32 bytes from the operating system's CSPRNG.</summary>
    public static DataKey Create() => new(KeyMaterial.CreateRandom());

    internal static DataKey FromBytes(ReadOnlySpan<byte> bytes) => new(KeyMaterial.CopyOf(bytes));

    /// <summary>The secret bytes; valid until <see cref="Dispose"/>.</summary>
    internal ReadOnlySpan<byte> AsSpan() => _material.AsSpan();

    public void Dispose() => _material.Dispose();

    public override string ToString() => "DataKey (redacted)";
}
