using BackupDr.Repository.Compression;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Tests.Integrity;

namespace BackupDr.Repository.Tests.Compression;

public sealed class CompressionStreamTests
{
    private const string Name = "targets/acme/backups/b1/database.dump.zst.aes";

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(1_000_000, 0)]
    [InlineData(1_000_000, 2)]
    [InlineData(3_000_000, 2)]
    public async Task CompressAsyncThenDecompress_RoundTrips(int size, int workers)
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.CompressibleBytes(size, seed: size);

        var compressed = await CompressAsync(data, new CompressionSettings(level: 3, workers: workers));
        await using var reader = CompressionStreams.Decompress(new MemoryStream(compressed), Codec.Zstd, Name);
        var decompressed = await TestStreams.ReadAllInRandomChunksAsync(reader, seed: 1, maxChunk: 70_000, ct);

        decompressed.ShouldBe(data);
        if (size >= 1_000_000)
        {
            compressed.Length.ShouldBeLessThan(size / 3);
        }

        reader.UncompressedBytesRead.ShouldBe(size);
        reader.CompressedBytesRead.ShouldBe(compressed.Length);
    }

    [Fact]
    public async Task CompressSync_IncompressibleData_RoundTripsSync()
    {
        var data = TestStreams.RandomBytes(500_000, seed: 2);
        var output = new MemoryStream();
        await using (var writer = CompressionStreams.Compress(output, Codec.Zstd, new CompressionSettings(workers: 0), leaveOpen: true))
        {
            TestStreams.WriteInRandomChunks(writer, data, seed: 3, maxChunk: 10_000);
            await writer.CompleteAsync(TestContext.Current.CancellationToken);
            writer.UncompressedLength.ShouldBe(data.Length);
            writer.CompressedLength.ShouldBe(output.Length);
        }

        using var reader = CompressionStreams.Decompress(new MemoryStream(output.ToArray()), Codec.Zstd, Name);
        TestStreams.ReadAllSync(reader, 8192).ShouldBe(data);
    }

    [Fact]
    public async Task Output_IsOneStandardZstdFrame()
    {
        var compressed = await CompressAsync(TestStreams.CompressibleBytes(10_000, seed: 4), CompressionSettings.Default);

        compressed[..4].ShouldBe(new byte[] { 0x28, 0xB5, 0x2F, 0xFD });
        // Frame header descriptor: content checksum flag (bit 2) is set.
        (compressed[4] & 0x04).ShouldBe(0x04);
    }

    [Fact]
    public async Task TruncatedFrame_AtEveryCut_IsDetected()
    {
        var compressed = await CompressAsync(TestStreams.CompressibleBytes(200_000, seed: 5), CompressionSettings.Default);

        foreach (var length in new[] { 1, 3, 4, 10, compressed.Length / 2, compressed.Length - 5, compressed.Length - 4, compressed.Length - 1 })
        {
            var ex = await Should.ThrowAsync<CorruptObjectException>(
                () => DecompressAsync(compressed[..length]), $"cut at {length} of {compressed.Length}");
            ex.ObjectName.ShouldBe(Name);
        }
    }

    [Fact]
    public async Task TruncatedFrame_SaysTruncated()
    {
        var compressed = await CompressAsync(TestStreams.CompressibleBytes(200_000, seed: 6), CompressionSettings.Default);

        (await Should.ThrowAsync<CorruptObjectException>(() => DecompressAsync(compressed[..^1])))
            .Reason.ShouldContain("truncated");
    }

    [Fact]
    public async Task EmptyInput_IsNotAnEmptyObject()
    {
        (await Should.ThrowAsync<CorruptObjectException>(() => DecompressAsync([]))).Reason.ShouldContain("no zstd frame");
    }

    [Fact]
    public async Task FlippedContentByte_FailsTheChecksum()
    {
        var data = TestStreams.RandomBytes(50_000, seed: 7);
        var compressed = await CompressAsync(data, CompressionSettings.Default);
        // Random data is stored in raw blocks: flipping a byte in the middle changes content, not structure.
        compressed[compressed.Length / 2] ^= 0x10;

        (await Should.ThrowAsync<CorruptObjectException>(() => DecompressAsync(compressed))).Reason.ShouldContain("damaged");
    }

    [Fact]
    public async Task TrailingGarbage_IsDetected()
    {
        var compressed = await CompressAsync(TestStreams.CompressibleBytes(1000, seed: 8), CompressionSettings.Default);

        await Should.ThrowAsync<CorruptObjectException>(() => DecompressAsync([.. compressed, 1, 2, 3, 4, 5, 6, 7, 8]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task DisposedWithoutComplete_LeavesAnUnterminatedFrame(int workers)
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.CompressibleBytes(300_000, seed: 9);
        var output = new MemoryStream();
        await using (var writer = CompressionStreams.Compress(output, Codec.Zstd, new CompressionSettings(workers: workers), leaveOpen: true))
        {
            await writer.WriteAsync(data, ct);
        }

        var written = output.ToArray();
        await Should.ThrowAsync<CorruptObjectException>(() => DecompressAsync(written));
    }

    [Fact]
    public async Task CompleteAsync_Twice_IsIdempotentAndDisposeAddsNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = new MemoryStream();
        long completedLength;
        await using (var writer = CompressionStreams.Compress(output, Codec.Zstd, leaveOpen: true))
        {
            await writer.WriteAsync(TestStreams.CompressibleBytes(5000, seed: 10), ct);
            await writer.CompleteAsync(ct);
            completedLength = output.Length;
            await writer.CompleteAsync(ct);
            await Should.ThrowAsync<InvalidOperationException>(async () => await writer.WriteAsync(new byte[1], ct));
        }

        output.Length.ShouldBe(completedLength);
    }

    [Fact]
    public async Task CodecNone_PassesBytesThrough()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.RandomBytes(1000, seed: 11);
        var output = new MemoryStream();
        await using (var writer = CompressionStreams.Compress(output, Codec.None, leaveOpen: true))
        {
            await writer.WriteAsync(data, ct);
            await writer.CompleteAsync(ct);
        }

        output.ToArray().ShouldBe(data);
        await using var reader = CompressionStreams.Decompress(new MemoryStream(data), Codec.None, Name);
        (await TestStreams.ReadAllAsync(reader, ct)).ShouldBe(data);
    }

    [Fact]
    public async Task CompressThenEncrypt_ThenDecryptThenDecompress_RoundTrips()
    {
        var ct = TestContext.Current.CancellationToken;
        using var key = DataKey.Create();
        var data = TestStreams.CompressibleBytes(2_500_000, seed: 12);
        var stored = new MemoryStream();
        await using (var encrypting = new EncryptingStream(stored, key, "database.dump", leaveOpen: true))
        await using (var compressing = CompressionStreams.Compress(encrypting, Codec.Zstd, leaveOpen: true))
        {
            await TestStreams.WriteInRandomChunksAsync(compressing, data, seed: 13, maxChunk: 100_000, ct);
            await compressing.CompleteAsync(ct);
            await encrypting.CompleteAsync(ct);
        }

        await using var decrypting = new DecryptingStream(new MemoryStream(stored.ToArray()), key, "database.dump", Name);
        await using var decompressing = CompressionStreams.Decompress(decrypting, Codec.Zstd, Name);

        (await TestStreams.ReadAllAsync(decompressing, ct)).ShouldBe(data);
    }

    [Fact]
    public async Task CorruptObjectFromBelow_PassesThroughUnchanged()
    {
        var ct = TestContext.Current.CancellationToken;
        using var key = DataKey.Create();
        var stored = new MemoryStream();
        await using (var encrypting = new EncryptingStream(stored, key, "database.dump", segmentSize: 1024, leaveOpen: true))
        await using (var compressing = CompressionStreams.Compress(encrypting, Codec.Zstd, leaveOpen: true))
        {
            await compressing.WriteAsync(TestStreams.RandomBytes(10_000, seed: 14), ct);
            await compressing.CompleteAsync(ct);
            await encrypting.CompleteAsync(ct);
        }

        var tampered = stored.ToArray();
        tampered[^100] ^= 1;
        await using var decrypting = new DecryptingStream(new MemoryStream(tampered), key, "database.dump", "the dump");
        await using var decompressing = CompressionStreams.Decompress(decrypting, Codec.Zstd, Name);

        var ex = await Should.ThrowAsync<CorruptObjectException>(() => TestStreams.ReadAllAsync(decompressing, ct));
        ex.ObjectName.ShouldBe("the dump");
        ex.Reason.ShouldContain("failed authentication");
    }

    [Fact]
    public void Settings_Defaults_AreLevel3AndAtMostTwoWorkers()
    {
        var settings = new CompressionSettings();

        settings.Level.ShouldBe(3);
        settings.Workers.ShouldBe(Math.Min(2, Environment.ProcessorCount));
        Should.Throw<ArgumentOutOfRangeException>(() => new CompressionSettings(level: 0));
        Should.Throw<ArgumentOutOfRangeException>(() => new CompressionSettings(level: 23));
        Should.Throw<ArgumentOutOfRangeException>(() => new CompressionSettings(workers: -1));
    }

    [Fact]
    public void Codec_SuffixesAndNames_MatchTheLayout()
    {
        Codec.Zstd.Suffix().ShouldBe(".zst");
        Codec.None.Suffix().ShouldBe("");
        Codec.Zstd.Name().ShouldBe("zstd");
        CodecNames.TryParse("zstd", out var codec).ShouldBeTrue();
        codec.ShouldBe(Codec.Zstd);
        CodecNames.TryParse("ZSTD", out _).ShouldBeFalse();
        CodecNames.TryParse(null, out _).ShouldBeFalse();
    }

    private static async Task<byte[]> CompressAsync(byte[] data, CompressionSettings settings)
    {
        var ct = TestContext.Current.CancellationToken;
        var output = new MemoryStream();
        await using (var writer = CompressionStreams.Compress(output, Codec.Zstd, settings, leaveOpen: true))
        {
            await TestStreams.WriteInRandomChunksAsync(writer, data, seed: data.Length, maxChunk: 50_000, ct);
            await writer.CompleteAsync(ct);
        }

        return output.ToArray();
    }

    private static async Task<byte[]> DecompressAsync(byte[] compressed)
    {
        await using var reader = CompressionStreams.Decompress(new MemoryStream(compressed), Codec.Zstd, Name);
        return await TestStreams.ReadAllAsync(reader, TestContext.Current.CancellationToken);
    }
}
