using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Tests.Integrity;

namespace BackupDr.Repository.Tests.Crypto;

public sealed class EncryptedObjectTests : IDisposable
{
    private const int Segment = 64;
    private const string ObjectName = "database.dump";
    private const string DisplayName = "targets/acme/backups/b1/database.dump.zst.aes";

    private readonly DataKey _key = DataKey.Create();

    public void Dispose() => _key.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Segment - 1)]
    [InlineData(Segment)]
    [InlineData(Segment + 1)]
    [InlineData((3 * Segment) + 17)]
    [InlineData(10_000)]
    public async Task WriteAsyncThenReadAsync_AnySize_RoundTripsWithExactLength(int size)
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.RandomBytes(size, seed: size);

        var encrypted = await EncryptAsync(data, Segment, seed: size, maxChunk: 150);
        await using var reader = new DecryptingStream(new MemoryStream(encrypted), _key, ObjectName, DisplayName);
        var decrypted = await TestStreams.ReadAllInRandomChunksAsync(reader, seed: size + 1, maxChunk: 200, ct);

        decrypted.ShouldBe(data);
        encrypted.LongLength.ShouldBe(EncryptedObjectFormat.CiphertextLength(size, Segment));
        reader.IsFinished.ShouldBeTrue();
        reader.PlaintextBytesRead.ShouldBe(size);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(Segment)]
    [InlineData((3 * Segment) + 17)]
    public async Task WriteThenRead_SynchronousPaths_RoundTrip(int size)
    {
        var data = TestStreams.RandomBytes(size, seed: size);
        var output = new MemoryStream();
        using (var writer = new EncryptingStream(output, _key, ObjectName, Segment, leaveOpen: true))
        {
            TestStreams.WriteInRandomChunks(writer, data, seed: 3, maxChunk: 100);
            await writer.CompleteAsync(TestContext.Current.CancellationToken);
        }

        using var reader = new DecryptingStream(new MemoryStream(output.ToArray()), _key, ObjectName, DisplayName);

        TestStreams.ReadAllSync(reader, bufferSize: 7).ShouldBe(data);
    }

    [Fact]
    public async Task Write_LargeBuffers_AreSealedWithoutCopyAndRoundTrip()
    {
        var data = TestStreams.RandomBytes(5 * Segment, seed: 11);
        var output = new MemoryStream();
        await using (var writer = new EncryptingStream(output, _key, ObjectName, Segment, leaveOpen: true))
        {
            await writer.WriteAsync(data, TestContext.Current.CancellationToken);
            await writer.CompleteAsync(TestContext.Current.CancellationToken);
            writer.PlaintextLength.ShouldBe(data.Length);
            writer.CiphertextLength.ShouldBe(output.Length);
        }

        (await DecryptAsync(output.ToArray())).ShouldBe(data);
    }

    [Fact]
    public async Task Header_IsMagicVersionSegmentSizeAndSalt()
    {
        var encrypted = await EncryptAsync([], EncryptedObjectFormat.DefaultSegmentSize);

        encrypted.Length.ShouldBe(41 + 16);
        encrypted[..4].ShouldBe("BDRE"u8.ToArray());
        encrypted[4].ShouldBe((byte)1);
        encrypted[5..9].ShouldBe(new byte[] { 0x00, 0x10, 0x00, 0x00 });
        var other = await EncryptAsync([], EncryptedObjectFormat.DefaultSegmentSize);
        other[9..41].ShouldNotBe(encrypted[9..41]);
    }

    [Fact]
    public async Task EveryFlippedBit_IsDetected()
    {
        var data = TestStreams.RandomBytes((2 * Segment) + 10, seed: 12);
        var encrypted = await EncryptAsync(data, Segment);

        for (var position = 0; position < encrypted.Length; position++)
        {
            var tampered = (byte[])encrypted.Clone();
            tampered[position] ^= (byte)(1 << (position % 8));
            await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(tampered), $"flipped bit at byte {position}");
        }
    }

    [Fact]
    public async Task EveryTruncation_IsDetected()
    {
        var data = TestStreams.RandomBytes((2 * Segment) + 10, seed: 13);
        var encrypted = await EncryptAsync(data, Segment);

        for (var length = 0; length < encrypted.Length; length++)
        {
            await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(encrypted[..length]), $"truncated to {length} bytes");
        }
    }

    [Fact]
    public async Task TruncationAtSegmentBoundary_SaysTheFinalSegmentIsMissing()
    {
        var data = TestStreams.RandomBytes((2 * Segment) + 10, seed: 14);
        var encrypted = await EncryptAsync(data, Segment);
        var twoSegments = EncryptedObjectFormat.HeaderLength + (2 * (Segment + EncryptedObjectFormat.TagLength));

        var ex = await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(encrypted[..twoSegments]));

        ex.ObjectName.ShouldBe(DisplayName);
        ex.Reason.ShouldBe("it ended without its final segment (truncated after 2 segments)");
        ex.Message.ShouldContain("must not be restored");
    }

    [Fact]
    public async Task HeaderOnly_SaysTheFinalSegmentIsMissing()
    {
        var encrypted = await EncryptAsync(TestStreams.RandomBytes(10, seed: 15), Segment);

        var ex = await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(encrypted[..EncryptedObjectFormat.HeaderLength]));

        ex.Reason.ShouldBe("it ended without its final segment (after 0 segments)");
    }

    [Fact]
    public async Task ReorderedSegments_AreDetected()
    {
        var data = TestStreams.RandomBytes((3 * Segment) + 5, seed: 16);
        var encrypted = await EncryptAsync(data, Segment);
        const int SealedLength = Segment + EncryptedObjectFormat.TagLength;
        var first = EncryptedObjectFormat.HeaderLength;
        var reordered = (byte[])encrypted.Clone();
        encrypted.AsSpan(first, SealedLength).CopyTo(reordered.AsSpan(first + SealedLength));
        encrypted.AsSpan(first + SealedLength, SealedLength).CopyTo(reordered.AsSpan(first));

        var ex = await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(reordered));

        ex.Reason.ShouldStartWith("segment 0 failed authentication");
    }

    [Fact]
    public async Task ReadAfterReportedDamage_ReportsItAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        var encrypted = await EncryptAsync(TestStreams.RandomBytes(3 * Segment, seed: 23), Segment);
        encrypted[EncryptedObjectFormat.HeaderLength + 3] ^= 1;
        await using var reader = new DecryptingStream(new MemoryStream(encrypted), _key, ObjectName, DisplayName);
        var buffer = new byte[Segment];

        var first = await Should.ThrowAsync<CorruptObjectException>(async () => await reader.ReadExactlyAsync(buffer, ct));
        var second = await Should.ThrowAsync<CorruptObjectException>(async () => await reader.ReadExactlyAsync(buffer, ct));

        second.Reason.ShouldBe(first.Reason);
        buffer.ShouldAllBe(b => b == 0);
    }

    [Fact]
    public async Task DroppedMiddleSegment_IsDetected()
    {
        var data = TestStreams.RandomBytes((3 * Segment) + 5, seed: 17);
        var encrypted = await EncryptAsync(data, Segment);
        const int SealedLength = Segment + EncryptedObjectFormat.TagLength;
        var withoutSecond = encrypted[..(EncryptedObjectFormat.HeaderLength + SealedLength)]
            .Concat(encrypted[(EncryptedObjectFormat.HeaderLength + (2 * SealedLength))..]).ToArray();

        (await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(withoutSecond)))
            .Reason.ShouldStartWith("segment 1 failed authentication");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(EncryptedObjectFormat.TagLength)]
    [InlineData(Segment + EncryptedObjectFormat.TagLength)]
    public async Task AppendedBytes_AreDetected(int extra)
    {
        foreach (var size in new[] { 0, 10, Segment, 2 * Segment })
        {
            var encrypted = await EncryptAsync(TestStreams.RandomBytes(size, seed: size), Segment);
            var appended = encrypted.Concat(TestStreams.RandomBytes(extra, seed: extra)).ToArray();

            await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(appended), $"size {size}, {extra} bytes appended");
        }
    }

    [Fact]
    public async Task AppendedCopyOfFinalSegment_IsDetected()
    {
        var encrypted = await EncryptAsync(TestStreams.RandomBytes(Segment, seed: 18), Segment);
        var finalSegment = encrypted[EncryptedObjectFormat.HeaderLength..];

        await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync([.. encrypted, .. finalSegment]));
    }

    [Fact]
    public async Task WrongDataKey_FailsOnFirstSegment()
    {
        var encrypted = await EncryptAsync(TestStreams.RandomBytes(100, seed: 19), Segment);
        using var otherKey = DataKey.Create();

        var ex = await Should.ThrowAsync<CorruptObjectException>(
            () => DecryptAsync(encrypted, key: otherKey));

        ex.Reason.ShouldStartWith("segment 0 failed authentication");
    }

    [Fact]
    public async Task WrongObjectName_FailsOnFirstSegment()
    {
        var encrypted = await EncryptAsync(TestStreams.RandomBytes(100, seed: 20), Segment);

        await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(encrypted, objectName: "filestore.index"));
    }

    [Fact]
    public async Task DisposedWithoutComplete_LeavesAnObjectThatFails()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = TestStreams.RandomBytes((2 * Segment) + 10, seed: 21);
        var output = new MemoryStream();
        await using (var writer = new EncryptingStream(output, _key, ObjectName, Segment, leaveOpen: true))
        {
            await writer.WriteAsync(data, ct);
        }

        var written = output.ToArray();
        written.Length.ShouldBe(EncryptedObjectFormat.HeaderLength + (2 * (Segment + EncryptedObjectFormat.TagLength)));
        (await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(written)))
            .Reason.ShouldContain("ended without its final segment");
    }

    [Fact]
    public async Task DisposedWithoutAnyWrite_WritesNothing()
    {
        var output = new MemoryStream();
        await using (new EncryptingStream(output, _key, ObjectName, Segment, leaveOpen: true))
        {
        }

        output.Length.ShouldBe(0);
        (await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync([]))).Reason.ShouldContain("empty");
    }

    [Fact]
    public async Task CompleteAsync_Twice_IsIdempotentAndWritesAfterAreRefused()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = new MemoryStream();
        await using var writer = new EncryptingStream(output, _key, ObjectName, Segment, leaveOpen: true);
        await writer.WriteAsync(new byte[10], ct);
        await writer.CompleteAsync(ct);
        var length = output.Length;

        await writer.CompleteAsync(ct);

        output.Length.ShouldBe(length);
        writer.IsCompleted.ShouldBeTrue();
        writer.CanWrite.ShouldBeFalse();
        await Should.ThrowAsync<InvalidOperationException>(async () => await writer.WriteAsync(new byte[1], ct));
    }

    [Fact]
    public async Task FailedOutputWrite_PoisonsTheWriter()
    {
        var ct = TestContext.Current.CancellationToken;
        var failing = new FailingStream(failAfterBytes: 100);
        await using var writer = new EncryptingStream(failing, _key, ObjectName, Segment);

        await Should.ThrowAsync<IOException>(async () => await writer.WriteAsync(new byte[10 * Segment], ct));

        await Should.ThrowAsync<InvalidOperationException>(async () => await writer.CompleteAsync(ct));
    }

    [Fact]
    public async Task Dispose_LeaveOpenFalse_DisposesOutputAndInput()
    {
        var output = new MemoryStream();
        await (new EncryptingStream(output, _key, ObjectName, Segment)).DisposeAsync();
        var input = new MemoryStream([1, 2, 3]);
        await (new DecryptingStream(input, _key, ObjectName, DisplayName)).DisposeAsync();

        output.CanWrite.ShouldBeFalse();
        input.CanRead.ShouldBeFalse();
    }

    [Fact]
    public async Task BadMagic_IsReported()
    {
        var encrypted = await EncryptAsync(new byte[5], Segment);
        encrypted[0] = (byte)'X';

        (await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(encrypted))).Reason.ShouldContain("magic");
    }

    [Fact]
    public async Task UnknownVersion_IsReported()
    {
        var encrypted = await EncryptAsync(new byte[5], Segment);
        encrypted[4] = 2;

        (await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(encrypted))).Reason.ShouldContain("version 2");
    }

    [Theory]
    [InlineData(0x00, 0x00, 0x00, 0x01)]
    [InlineData(0x7F, 0xFF, 0xFF, 0xFF)]
    public async Task SegmentSizeOutOfBounds_IsReportedBeforeAllocating(byte a, byte b, byte c, byte d)
    {
        var encrypted = await EncryptAsync(new byte[5], Segment);
        encrypted[5] = a;
        encrypted[6] = b;
        encrypted[7] = c;
        encrypted[8] = d;

        (await Should.ThrowAsync<CorruptObjectException>(() => DecryptAsync(encrypted))).Reason.ShouldContain("segment size");
    }

    [Fact]
    public async Task ReadAsync_CancelledToken_Throws()
    {
        var encrypted = await EncryptAsync(new byte[500], Segment);
        await using var reader = new DecryptingStream(new MemoryStream(encrypted), _key, ObjectName, DisplayName);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(async () => await reader.ReadExactlyAsync(new byte[10], cts.Token));
    }

    [Fact]
    public void Constructor_SegmentSizeOutOfBounds_IsRefused()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new EncryptingStream(new MemoryStream(), _key, ObjectName, segmentSize: 8));
        Should.Throw<ArgumentOutOfRangeException>(() => new EncryptingStream(new MemoryStream(), _key, ObjectName, segmentSize: 32 << 20));
    }

    [Fact]
    public async Task DataKeyFromWrappedToken_DecryptsWhatTheOriginalEncrypted()
    {
        using var masterKey = MasterKey.CreateRandom();
        var token = RepositoryKeys.WrapDataKey(masterKey, _key, "backup:acme/b1");
        var data = TestStreams.RandomBytes(1000, seed: 22);
        var encrypted = await EncryptAsync(data, Segment);

        using var unwrapped = RepositoryKeys.UnwrapDataKey(masterKey, token, "backup:acme/b1");

        (await DecryptAsync(encrypted, key: unwrapped)).ShouldBe(data);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(1_048_576, 1)]
    [InlineData(1_048_577, 2)]
    public void CiphertextLength_CountsOneTagPerSegment(long plaintext, long segments)
    {
        EncryptedObjectFormat.CiphertextLength(plaintext).ShouldBe(41 + plaintext + (16 * segments));
    }

    private async Task<byte[]> EncryptAsync(byte[] data, int segmentSize, int seed = 0, int maxChunk = 100)
    {
        var ct = TestContext.Current.CancellationToken;
        var output = new MemoryStream();
        await using (var writer = new EncryptingStream(output, _key, ObjectName, segmentSize, leaveOpen: true))
        {
            await TestStreams.WriteInRandomChunksAsync(writer, data, seed, maxChunk, ct);
            await writer.CompleteAsync(ct);
        }

        return output.ToArray();
    }

    private async Task<byte[]> DecryptAsync(byte[] encrypted, DataKey? key = null, string objectName = ObjectName)
    {
        await using var reader = new DecryptingStream(new MemoryStream(encrypted), key ?? _key, objectName, DisplayName);
        return await TestStreams.ReadAllAsync(reader, TestContext.Current.CancellationToken);
    }

    private sealed class FailingStream(int failAfterBytes) : MemoryStream
    {
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Length + buffer.Length > failAfterBytes)
            {
                throw new IOException("disk full");
            }

            return base.WriteAsync(buffer, cancellationToken);
        }
    }
}
