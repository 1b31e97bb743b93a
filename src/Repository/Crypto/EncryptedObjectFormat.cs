using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace BackupDr.Repository.Crypto;

/// <summary>
/// The byte format of an encrypted object (segmented AES-256-GCM, in the manner of Tink's streaming AEAD):
/// <code>
/// header   = "BDRE" (4) || version 0x01 (1) || segment size, uint32 big-endian (4) || salt (32)       = 41 bytes
/// segment  = AES-256-GCM(objectKey, nonce_i, plaintext_i, aad = header) = ciphertext_i || tag_i (16)
/// object   = header || segment_0 || ... || segment_n
/// objectKey = HKDF-SHA256(ikm = data key, salt = header salt, info = "backupdr/segment/v1/" + objectName, 32 bytes)
/// nonce_i  = i as uint64 big-endian (8) || final flag (1: 0x01 on the last segment, else 0x00) || 0x00 0x00 0x00
/// </code>
/// Every segment but the last holds exactly segment-size plaintext bytes; the last holds 0 to segment-size bytes
/// and is the only one with the final flag. An empty object is the header and one empty final segment (57 bytes).
/// The index in the nonce catches reordering, the final flag catches truncation at a segment boundary, the header
/// as associated data catches a changed header, and the object name in the key derivation catches an object moved
/// to another name; a data key of another backup gives another key altogether.
/// </summary>
internal static class EncryptedObjectFormat
{
    public const byte Version = 1;
    public const int MagicLength = 4;
    public const int SaltLength = 32;
    public const int HeaderLength = MagicLength + 1 + 4 + SaltLength;
    public const int TagLength = 16;
    public const int NonceLength = 12;

    /// <summary>1 MiB of plaintext per segment.</summary>
    public const int DefaultSegmentSize = 1 << 20;

    public const int MinimumSegmentSize = 16;

    /// <summary>A reader allocates a segment before it can authenticate the header, so the header's claim is bounded.</summary>
    public const int MaximumSegmentSize = 16 << 20;

    private const string InfoPrefix = "backupdr/segment/v1/";

    public static ReadOnlySpan<byte> Magic => "BDRE"u8;

    /// <summary>The exact size of the encrypted form of <paramref name="plaintextLength"/> bytes.</summary>
    public static long CiphertextLength(long plaintextLength, int segmentSize = DefaultSegmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(plaintextLength);
        CheckSegmentSize(segmentSize);
        var segments = plaintextLength == 0 ? 1 : ((plaintextLength - 1) / segmentSize) + 1;
        return HeaderLength + plaintextLength + (segments * TagLength);
    }

    internal static void CheckSegmentSize(int segmentSize)
    {
        if (segmentSize is < MinimumSegmentSize or > MaximumSegmentSize)
        {
            throw new ArgumentOutOfRangeException(
                nameof(segmentSize),
                $"the segment size must be between {MinimumSegmentSize} and {MaximumSegmentSize} bytes");
        }
    }

    internal static byte[] NewHeader(int segmentSize)
    {
        var header = new byte[HeaderLength];
        Magic.CopyTo(header);
        header[MagicLength] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(MagicLength + 1, 4), (uint)segmentSize);
        RandomNumberGenerator.Fill(header.AsSpan(HeaderLength - SaltLength));
        return header;
    }

    internal static ReadOnlySpan<byte> SaltOf(ReadOnlySpan<byte> header) => header[(HeaderLength - SaltLength)..];

    internal static uint SegmentSizeOf(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt32BigEndian(header.Slice(MagicLength + 1, 4));

    /// <summary>The per-object cipher. The derived key lives only in the returned <see cref="AesGcm"/>.</summary>
    internal static AesGcm CreateObjectCipher(ReadOnlySpan<byte> dataKey, ReadOnlySpan<byte> salt, string objectName)
    {
        ArgumentException.ThrowIfNullOrEmpty(objectName);
        var info = Encoding.UTF8.GetBytes(InfoPrefix + objectName);
        Span<byte> objectKey = stackalloc byte[32];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, dataKey, objectKey, salt, info);
            return new AesGcm(objectKey, TagLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(objectKey);
        }
    }

    internal static void WriteNonce(Span<byte> nonce, ulong segmentIndex, bool final)
    {
        BinaryPrimitives.WriteUInt64BigEndian(nonce, segmentIndex);
        nonce[8] = final ? (byte)1 : (byte)0;
        nonce[9] = 0;
        nonce[10] = 0;
        nonce[11] = 0;
    }
}
