using System.Security.Cryptography;
using BackupDr.Repository.Integrity;

namespace BackupDr.Repository.Tests.Integrity;

public sealed class IntegrityStreamTests
{
    private const string Name = "targets/acme/backups/b1/database.dump.zst.aes";

    [Fact]
    public async Task HashingStream_Writing_CountsAndHashesWhatPassesThrough()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.RandomBytes(100_003, seed: 1);
        var sink = new MemoryStream();
        await using var hashing = HashingStream.ForWriting(sink, leaveOpen: true);

        await TestStreams.WriteInRandomChunksAsync(hashing, data, seed: 2, maxChunk: 5000, ct);

        sink.ToArray().ShouldBe(data);
        var digest = hashing.GetDigest();
        digest.Size.ShouldBe(data.Length);
        digest.Sha256Hex.ShouldBe(Convert.ToHexStringLower(SHA256.HashData(data)));
        hashing.CanRead.ShouldBeFalse();
    }

    [Fact]
    public async Task HashingStream_Reading_CountsAndHashesWhatPassesThrough()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.RandomBytes(70_000, seed: 3);
        await using var hashing = HashingStream.ForReading(new MemoryStream(data));

        var read = await TestStreams.ReadAllInRandomChunksAsync(hashing, seed: 4, maxChunk: 4096, ct);

        read.ShouldBe(data);
        hashing.BytesCount.ShouldBe(data.Length);
        hashing.GetDigest().Sha256Hex.ShouldBe(Convert.ToHexStringLower(SHA256.HashData(data)));
        Should.Throw<NotSupportedException>(() => hashing.Write([1]));
    }

    [Fact]
    public void HashingStream_Empty_IsTheEmptyDigest()
    {
        using var hashing = HashingStream.ForWriting(Stream.Null);

        hashing.GetDigest().ShouldBe(new ObjectDigest(0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    [Fact]
    public void HashingStream_LeaveOpenFalse_DisposesInner()
    {
        var inner = new MemoryStream();
        HashingStream.ForWriting(inner).Dispose();

        inner.CanWrite.ShouldBeFalse();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65_537)]
    public async Task VerifyingReadStream_MatchingObject_ReadsItAndIsVerified(int size)
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.RandomBytes(size, seed: size);
        await using var verifying = new VerifyingReadStream(new MemoryStream(data), DigestOf(data), Name);

        var read = await TestStreams.ReadAllInRandomChunksAsync(verifying, seed: 5, maxChunk: 1000, ct);

        read.ShouldBe(data);
        verifying.IsVerified.ShouldBeTrue();
        (await verifying.ReadAsync(new byte[10], ct)).ShouldBe(0);
    }

    [Fact]
    public async Task VerifyingReadStream_ObjectShorterThanRecorded_ThrowsAtEnd()
    {
        var data = TestStreams.RandomBytes(1000, seed: 6);
        await using var verifying = new VerifyingReadStream(new MemoryStream(data[..999]), DigestOf(data), Name);

        var ex = await Should.ThrowAsync<CorruptObjectException>(
            () => TestStreams.ReadAllAsync(verifying, TestContext.Current.CancellationToken));

        ex.ObjectName.ShouldBe(Name);
        ex.Reason.ShouldBe("it ended after 999 bytes, but 1000 bytes were recorded for it");
        ex.Message.ShouldBe($"object '{Name}' is damaged and must not be restored: {ex.Reason}");
        verifying.IsVerified.ShouldBeFalse();
    }

    [Fact]
    public async Task VerifyingReadStream_ObjectLongerThanRecorded_ThrowsAsSoonAsItExceeds()
    {
        var data = TestStreams.RandomBytes(1000, seed: 7);
        var longer = data.Concat(new byte[] { 0 }).ToArray();
        await using var verifying = new VerifyingReadStream(new MemoryStream(longer), DigestOf(data), Name);

        var ex = await Should.ThrowAsync<CorruptObjectException>(
            () => TestStreams.ReadAllAsync(verifying, TestContext.Current.CancellationToken));

        ex.Reason.ShouldContain("more than the 1000 bytes recorded");
    }

    [Fact]
    public async Task VerifyingReadStream_SameSizeOtherContent_ThrowsNamingBothDigests()
    {
        var data = TestStreams.RandomBytes(4096, seed: 8);
        var altered = (byte[])data.Clone();
        altered[2000] ^= 0x01;
        var expected = DigestOf(data);
        await using var verifying = new VerifyingReadStream(new MemoryStream(altered), expected, Name);

        var ex = Should.Throw<CorruptObjectException>(() => TestStreams.ReadAllSync(verifying, 512));

        ex.Reason.ShouldContain(expected.Sha256Hex);
        ex.Reason.ShouldContain(Convert.ToHexStringLower(SHA256.HashData(altered)));
    }

    [Fact]
    public async Task VerifyToEndAsync_ConsumerStoppedEarly_DrainsAndVerifies()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.RandomBytes(300_000, seed: 9);
        await using var verifying = new VerifyingReadStream(new MemoryStream(data), DigestOf(data), Name);
        await verifying.ReadExactlyAsync(new byte[100], ct);
        verifying.IsVerified.ShouldBeFalse();

        await verifying.VerifyToEndAsync(ct);

        verifying.IsVerified.ShouldBeTrue();
    }

    [Fact]
    public async Task VerifyToEndAsync_DamagedTail_Throws()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.RandomBytes(300_000, seed: 10);
        var altered = (byte[])data.Clone();
        altered[^1] ^= 0x80;
        await using var verifying = new VerifyingReadStream(new MemoryStream(altered), DigestOf(data), Name);
        await verifying.ReadExactlyAsync(new byte[100], ct);

        await Should.ThrowAsync<CorruptObjectException>(() => verifying.VerifyToEndAsync(ct));
    }

    [Fact]
    public void ObjectDigest_NotHex_IsRejected()
    {
        Should.Throw<ArgumentException>(() => new ObjectDigest(1, new string('g', 64)));
        Should.Throw<ArgumentException>(() => new ObjectDigest(1, "abcd"));
        new ObjectDigest(1, new string('A', 64)).Sha256Hex.ShouldBe(new string('a', 64));
    }

    private static ObjectDigest DigestOf(byte[] data) => new(data.Length, Convert.ToHexStringLower(SHA256.HashData(data)));
}
