using Microsoft.Extensions.Logging;

namespace BackupDr.Repository.Storage;

/// <summary>
/// The one place stores retry: a request that failed with a transient <see cref="StorageException"/> is repeated
/// after an exponential delay (base, 2x base, 4x base ... capped), up to <see cref="ObjectStoreSettings.MaxAttempts"/>
/// attempts in all. Anything else (not found, access denied, a source stream's error, cancellation) escapes at once.
/// The SDKs' own retries are switched off so that attempts do not multiply. Delays use the settings' TimeProvider
/// and end early when the token fires.
/// </summary>
internal sealed partial class RetryPolicy(ObjectStoreSettings settings)
{
    public static TimeSpan DelayBefore(int nextAttempt, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        var exponent = Math.Min(nextAttempt - 2, 30);
        var ticks = Math.Min(baseDelay.Ticks * (double)(1L << exponent), maxDelay.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    public async Task<T> ExecuteAsync<T>(string operation, Func<CancellationToken, Task<T>> request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            StorageException failure;
            try
            {
                return await request(cancellationToken);
            }
            catch (StorageException e) when (e.IsTransient && attempt < settings.MaxAttempts)
            {
                failure = e;
            }

            // Ends with OperationCanceledException when the token fires meanwhile.
            var delay = DelayBefore(attempt + 1, settings.RetryBaseDelay, settings.RetryMaxDelay);
            LogRetry(settings.Logger, operation, attempt, settings.MaxAttempts, delay, failure.Message);
            await Task.Delay(delay, settings.TimeProvider, cancellationToken);
        }
    }

    public Task ExecuteAsync(string operation, Func<CancellationToken, Task> request, CancellationToken cancellationToken) =>
        ExecuteAsync(
            operation,
            async token =>
            {
                await request(token);
                return true;
            },
            cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage {Operation} failed (attempt {Attempt} of {MaxAttempts}), retrying in {Delay}: {Error}")]
    private static partial void LogRetry(ILogger logger, string operation, int attempt, int maxAttempts, TimeSpan delay, string error);
}
