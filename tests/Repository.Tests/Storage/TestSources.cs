using System.Security.Cryptography;

namespace BackupDr.Repository.Tests.Storage;

/// <summary>Payloads and sources for storage tests (compiled into Repository.Tests and IntegrationTests).</summary>
internal static class TestSources
{
    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Bytes(long length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, cancellationToken);
        return copy.ToArray();
    }
}

/// <summary>
/// A non-seekable source of unknown length that hands out odd chunk sizes, like a pipe from pg_dump. Before each
/// read it calls <see cref="BeforeRead"/> with the bytes delivered so far, which lets a test cancel, fail or pause
/// the upload at a chosen point. Disposing it does not matter to the stores (the caller owns a Put's source).
/// </summary>
internal sealed class ScriptedSource(byte[] data) : Stream
{
    private static readonly int[] OddChunks = [1, 4093, 65_537, 7, 131_071, 3, 262_147];

    private int _reads;

    public long Delivered { get; private set; }

    public Func<long, CancellationToken, ValueTask>? BeforeRead { get; init; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException("unknown length");

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (BeforeRead is not null)
        {
            await BeforeRead(Delivered, cancellationToken);
        }

        var chunk = OddChunks[_reads++ % OddChunks.Length];
        var count = (int)Math.Min(Math.Min(buffer.Length, chunk), data.Length - Delivered);
        data.AsMemory((int)Delivered, count).CopyTo(buffer);
        Delivered += count;
        return count;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
