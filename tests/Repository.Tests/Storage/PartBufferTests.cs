using System.Security.Cryptography;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Storage;

public sealed class PartBufferTests
{
    private const int Chunk = PartBuffer.ChunkBytes;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(0, Chunk)]
    [InlineData(Chunk - 1, Chunk)]
    [InlineData(Chunk, Chunk)]
    [InlineData(Chunk + 1, 3 * Chunk)]
    [InlineData(2 * Chunk + 12_345, 4 * Chunk)]
    [InlineData(3 * Chunk, 2 * Chunk + 5)]
    public async Task ReadAsync_AcrossChunkBoundaries_HoldsExactlyTheBytesAndHashesThem(int sourceBytes, int capacity)
    {
        var data = TestSources.Bytes(sourceBytes);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        using var part = await PartBuffer.ReadAsync(new ScriptedSource(data), capacity, hash, Token);

        var expected = data.AsSpan(0, Math.Min(sourceBytes, capacity)).ToArray();
        part.Length.ShouldBe(expected.Length);
        part.IsFull.ShouldBe(sourceBytes >= capacity);
        part.ToArray().ShouldBe(expected);
        Convert.ToHexStringLower(hash.GetCurrentHash()).ShouldBe(TestSources.Sha256Hex(expected));
    }

    [Fact]
    public async Task OpenStream_SeekAndOddReads_ReturnTheSameBytesAsTheSource()
    {
        var data = TestSources.Bytes(2 * Chunk + 777);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var part = await PartBuffer.ReadAsync(new ScriptedSource(data), 3 * Chunk, hash, Token);
        await using var stream = part.OpenStream();

        stream.Length.ShouldBe(data.Length);
        stream.Seek(Chunk - 3, SeekOrigin.Begin);
        var across = new byte[10];
        stream.ReadExactly(across);
        across.ShouldBe(data.AsSpan(Chunk - 3, 10).ToArray());

        stream.Seek(-5, SeekOrigin.End);
        var tail = new byte[16];
        stream.Read(tail).ShouldBe(5);
        tail.AsSpan(0, 5).ToArray().ShouldBe(data.AsSpan(data.Length - 5).ToArray());
        stream.Read(tail).ShouldBe(0);

        // A retried request reads the part again from the start, through a new stream.
        await using var again = part.OpenStream();
        var copy = new MemoryStream();
        await again.CopyToAsync(copy, Token);
        copy.ToArray().ShouldBe(data);
    }

    [Fact]
    public async Task Dispose_ReturnsTheChunks_PartCannotBeReadAfterwards()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var part = await PartBuffer.ReadAsync(new ScriptedSource(TestSources.Bytes(100)), Chunk, hash, Token);

        part.Dispose();
        part.Dispose();

        Should.Throw<ObjectDisposedException>(() => part.OpenStream());
    }
}
