using System.Collections.Concurrent;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Storage;

public sealed class MultipartPutTests
{
    private const int Part = 1000;
    private static readonly PartLimits Limits = new("test", MaxParts: 16_000, MinPartSizeBytes: 1, MaxPartSizeBytes: 1 << 20, MaxObjectSizeBytes: long.MaxValue);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Part - 1)]
    [InlineData(Part)]
    public async Task RunAsync_AtMostOnePart_UploadsInOneRequest(int size)
    {
        var uploader = new FakeUploader();
        var data = TestSources.Bytes(size);

        var result = await Put().RunAsync(Key, new ScriptedSource(data), uploader, Token);

        result.ShouldBe(new PutResult(Key, size, TestSources.Sha256Hex(data)));
        uploader.Whole.ShouldBe(data);
        uploader.Begun.ShouldBeFalse();

        // The part went back to its pool: a single-request Put that kept it leaked a part-sized array per object.
        Should.Throw<ObjectDisposedException>(() => uploader.WholePart!.OpenStream());
    }

    [Theory]
    [InlineData(Part + 1, 2)]
    [InlineData(Part * 2, 2)]
    [InlineData(Part * 7 + 3, 8)]
    public async Task RunAsync_MoreThanOnePart_UploadsPartsAndCompletes(int size, int parts)
    {
        var uploader = new FakeUploader();
        var data = TestSources.Bytes(size);

        var result = await Put().RunAsync(Key, new ScriptedSource(data), uploader, Token);

        result.ShouldBe(new PutResult(Key, size, TestSources.Sha256Hex(data)));
        uploader.CompletedParts.ShouldBe(parts);
        uploader.Assemble().ShouldBe(data);
        uploader.Aborted.ShouldBeFalse();
    }

    [Fact]
    public async Task RunAsync_ManyParts_KeepsConcurrencyAndBuffersBounded()
    {
        var uploader = new FakeUploader { Gated = true };
        var data = TestSources.Bytes(Part * 20);
        var source = new ScriptedSource(data);
        var put = Put(concurrency: 3).RunAsync(Key, source, uploader, Token);

        // Three parts are held in flight: the reader may fill one more buffer, then waits for a slot.
        await uploader.WaitUntilInFlightAsync(3, Token);
        var deliveredWhileFull = source.Delivered;
        uploader.Open();

        (await put).SizeBytes.ShouldBe(data.Length);
        deliveredWhileFull.ShouldBeLessThanOrEqualTo(4 * Part);
        uploader.MaxConcurrent.ShouldBe(3);
        uploader.Assemble().ShouldBe(data);
    }

    [Fact]
    public async Task RunAsync_PartFailsTransientlyOnce_RetriesFromTheSameBytes()
    {
        var uploader = new FakeUploader { FailOnce = (part: 3, transient: true) };
        var data = TestSources.Bytes(Part * 5 + 1);

        await Put().RunAsync(Key, new ScriptedSource(data), uploader, Token);

        uploader.Attempts[3].ShouldBe(2);
        uploader.Assemble().ShouldBe(data);
    }

    [Fact]
    public async Task RunAsync_PartFailsPermanently_AbortsAndThrowsThePartError()
    {
        // The other parts are held in flight, so the reader cannot run ahead of the failure: it must stop reading.
        var uploader = new FakeUploader { FailOnce = (part: 2, transient: false), Gated = true };
        var source = new ScriptedSource(TestSources.Bytes(Part * 30));

        var error = await Should.ThrowAsync<StorageException>(() => Put().RunAsync(Key, source, uploader, Token));

        error.Message.ShouldContain("part 2 refused");
        uploader.Aborted.ShouldBeTrue();
        uploader.CompletedParts.ShouldBe(0);
        source.Delivered.ShouldBeLessThan(Part * 30);
    }

    [Fact]
    public async Task RunAsync_Cancelled_AbortsAndThrowsOperationCanceled()
    {
        var uploader = new FakeUploader();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var source = new ScriptedSource(TestSources.Bytes(Part * 10))
        {
            BeforeRead = (delivered, _) =>
            {
                if (delivered > Part * 3)
                {
                    cancel.Cancel();
                }

                return ValueTask.CompletedTask;
            },
        };

        await Should.ThrowAsync<OperationCanceledException>(() => Put().RunAsync(Key, source, uploader, cancel.Token));

        uploader.Aborted.ShouldBeTrue();
        uploader.CompletedParts.ShouldBe(0);
    }

    [Fact]
    public async Task RunAsync_SourceThrows_AbortsAndRethrowsTheSourceError()
    {
        var uploader = new FakeUploader();
        var source = new ScriptedSource(TestSources.Bytes(Part * 10))
        {
            BeforeRead = (delivered, _) => delivered > Part * 4 ? throw new IOException("broken pipe") : ValueTask.CompletedTask,
        };

        (await Should.ThrowAsync<IOException>(() => Put().RunAsync(Key, source, uploader, Token))).Message.ShouldBe("broken pipe");

        uploader.Aborted.ShouldBeTrue();
    }

    [Fact]
    public async Task RunAsync_MoreThanMaxParts_AbortsWithATooLargeError()
    {
        var uploader = new FakeUploader();
        // Three parts, doubling after each (interval 1): 1000 + 2000 + 4000 bytes at most.
        var tiny = Limits with { MaxParts = 3 };
        var put = new MultipartPut(Settings(2), tiny, new RetryPolicy(Settings(2)), "test://store");

        var error = await Should.ThrowAsync<StorageException>(
            () => put.RunAsync(Key, new ScriptedSource(TestSources.Bytes(Part * 7 + 1)), uploader, Token));

        error.Message.ShouldContain("the most 3 parts can hold");
        uploader.Aborted.ShouldBeTrue();
    }

    private static ObjectKey Key { get; } = ObjectKey.Parse("t/object");

    private static ObjectStoreSettings Settings(int concurrency) =>
        new() { PartSizeBytes = Part, MaxConcurrency = concurrency, RetryBaseDelay = TimeSpan.Zero, RetryMaxDelay = TimeSpan.Zero };

    private static MultipartPut Put(int concurrency = 2)
    {
        var settings = Settings(concurrency);
        return new MultipartPut(settings, Limits, new RetryPolicy(settings), "test://store");
    }

    private sealed class FakeUploader : IPartUploader, IPartUpload
    {
        private readonly ConcurrentDictionary<int, byte[]> _parts = new();
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentDictionary<int, TaskCompletionSource> _inFlightReached = new();
        private int _concurrent;
        private int _maxConcurrent;

        /// <summary>Parts wait until <see cref="Open"/>.</summary>
        public bool Gated { get; init; }

        public (int part, bool transient)? FailOnce { get; init; }

        public ConcurrentDictionary<int, int> Attempts { get; } = new();

        public byte[]? Whole { get; private set; }

        public bool Begun { get; private set; }

        public bool Aborted { get; private set; }

        public int CompletedParts { get; private set; }

        public int MaxConcurrent => _maxConcurrent;

        public PartBuffer? WholePart { get; private set; }

        public Task PutWholeAsync(PartBuffer content, CancellationToken cancellationToken)
        {
            WholePart = content;
            Whole = content.ToArray();
            return Task.CompletedTask;
        }

        public Task<IPartUpload> BeginAsync(CancellationToken cancellationToken)
        {
            Begun = true;
            return Task.FromResult<IPartUpload>(this);
        }

        public async Task UploadPartAsync(int partNumber, PartBuffer part, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _concurrent);
            InterlockedMax(ref _maxConcurrent, now);
            _inFlightReached.GetOrAdd(now, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            try
            {
                await Task.Yield();

                // A failing part fails at once, even while the gate holds the others.
                var attempt = Attempts.AddOrUpdate(partNumber, 1, (_, n) => n + 1);
                if (FailOnce is { } fail && fail.part == partNumber && attempt == 1)
                {
                    throw new StorageException("test://store", Key, $"part {partNumber} refused", fail.transient);
                }

                if (Gated)
                {
                    await _open.Task.WaitAsync(cancellationToken);
                }

                _parts[partNumber] = part.ToArray();
            }
            finally
            {
                Interlocked.Decrement(ref _concurrent);
            }
        }

        public Task CompleteAsync(int partCount, CancellationToken cancellationToken)
        {
            CompletedParts = partCount;
            return Task.CompletedTask;
        }

        public Task AbortAsync(CancellationToken cancellationToken)
        {
            Aborted = true;
            return Task.CompletedTask;
        }

        public void Open() => _open.TrySetResult();

        public Task WaitUntilInFlightAsync(int count, CancellationToken cancellationToken) =>
            _inFlightReached.GetOrAdd(count, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(cancellationToken);

        public byte[] Assemble() => [.. Enumerable.Range(1, CompletedParts).SelectMany(n => _parts[n])];

        private static void InterlockedMax(ref int target, int value)
        {
            var current = Volatile.Read(ref target);
            while (value > current)
            {
                var seen = Interlocked.CompareExchange(ref target, value, current);
                if (seen == current)
                {
                    return;
                }

                current = seen;
            }
        }
    }
}
