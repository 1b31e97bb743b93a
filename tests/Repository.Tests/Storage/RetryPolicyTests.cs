using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Storage;

public sealed class RetryPolicyTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void DelayBefore_Attempts_DoubleUpToTheCap()
    {
        var delays = Enumerable.Range(2, 7).Select(n => RetryPolicy.DelayBefore(n, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10)));

        delays.Select(d => d.TotalSeconds).ShouldBe([0.5, 1, 2, 4, 8, 10, 10]);
    }

    [Fact]
    public async Task ExecuteAsync_TransientThenSuccess_RetriesWithBackoffFromTheTimeProvider()
    {
        var time = new RecordingTimeProvider();
        var retry = new RetryPolicy(new ObjectStoreSettings { TimeProvider = time, MaxAttempts = 5 });
        var calls = 0;

        var result = await retry.ExecuteAsync(
            "put",
            _ => ++calls < 3 ? throw Transient() : Task.FromResult(42),
            Token);

        result.ShouldBe(42);
        calls.ShouldBe(3);
        time.Delays.ShouldBe([TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)]);
    }

    [Fact]
    public async Task ExecuteAsync_AlwaysTransient_GivesUpAfterMaxAttempts()
    {
        var time = new RecordingTimeProvider();
        var retry = new RetryPolicy(new ObjectStoreSettings { TimeProvider = time, MaxAttempts = 3 });
        var calls = 0;

        var error = await Should.ThrowAsync<StorageException>(
            () => retry.ExecuteAsync<int>("put", _ => { calls++; throw Transient(); }, Token));

        error.IsTransient.ShouldBeTrue();
        calls.ShouldBe(3);
        time.Delays.Count.ShouldBe(2);
    }

    [Fact]
    public async Task ExecuteAsync_NotTransient_FailsAtOnce()
    {
        var retry = new RetryPolicy(new ObjectStoreSettings { TimeProvider = new RecordingTimeProvider() });
        var calls = 0;

        await Should.ThrowAsync<AccessDeniedException>(
            () => retry.ExecuteAsync<int>("put", _ => { calls++; throw new AccessDeniedException("s3://b", null, "403"); }, Token));

        calls.ShouldBe(1);
    }

    [Fact]
    public async Task ExecuteAsync_CancelledWhileWaiting_ThrowsOperationCanceled()
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var time = new RecordingTimeProvider { OnDelay = cancel.Cancel, FireTimers = false };
        var retry = new RetryPolicy(new ObjectStoreSettings { TimeProvider = time });

        await Should.ThrowAsync<OperationCanceledException>(
            () => retry.ExecuteAsync<int>("put", _ => throw Transient(), cancel.Token));
    }

    private static StorageException Transient() => new("s3://bucket", null, "503 SlowDown", isTransient: true);
}

/// <summary>A clock whose timers fire at once, recording each requested delay: retries without waiting.</summary>
internal sealed class RecordingTimeProvider : TimeProvider
{
    private readonly List<TimeSpan> _delays = [];

    public IReadOnlyList<TimeSpan> Delays
    {
        get
        {
            lock (_delays)
            {
                return [.. _delays];
            }
        }
    }

    /// <summary>Runs when a delay is requested, before its timer fires.</summary>
    public Action? OnDelay { get; init; }

    /// <summary>False: timers never fire (a delay ends only by cancellation).</summary>
    public bool FireTimers { get; init; } = true;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_delays)
            {
                _delays.Add(dueTime);
            }

            OnDelay?.Invoke();
            if (FireTimers)
            {
                ThreadPool.QueueUserWorkItem(_ => callback(state));
            }
        }

        return new NoTimer();
    }

    private sealed class NoTimer : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => true;

        public void Dispose()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
