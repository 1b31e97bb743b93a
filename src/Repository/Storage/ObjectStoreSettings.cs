using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupDr.Repository.Storage;

/// <summary>
/// Tuning shared by the stores. The defaults suit production; tests shrink the part size and the delays.
/// Memory held by one Put is at most <c>(MaxConcurrency + 1) * part size</c> (16 MiB parts, 2 at once: 48 MiB).
/// </summary>
internal sealed record ObjectStoreSettings
{
    public const long DefaultPartSizeBytes = 16 * 1024 * 1024;

    public static ObjectStoreSettings Default { get; } = new();

    /// <summary>Size of the first parts; grows per <see cref="PartSizing"/>. S3 needs at least 5 MiB.</summary>
    public long PartSizeBytes { get; init; } = DefaultPartSizeBytes;

    /// <summary>
    /// Parts uploaded at the same time by one Put. Two keep a compressed dump stream (about 20 MB/s per pg_dump) flowing
    /// and hold the backup's peak RSS under 256 MiB; four measured 258 MiB against s3rver (bench/results).
    /// </summary>
    public int MaxConcurrency { get; init; } = 2;

    /// <summary>Attempts per request, the first included, for transient failures only.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Delay before the second attempt; doubles per attempt up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long aborting a failed multipart upload may take (it runs after the caller's token fired).</summary>
    public TimeSpan AbortTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Receives retries and failed aborts; nothing else is logged by the stores.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Every problem with these settings for a store with <paramref name="limits"/> (empty when valid).</summary>
    public IReadOnlyList<string> Validate(PartLimits? limits)
    {
        var errors = new List<string>();
        if (PartSizeBytes < 1 || PartSizeBytes > PartSizing.MaxBufferBytes)
        {
            errors.Add($"PartSizeBytes must be between 1 and {PartSizing.MaxBufferBytes}, not {PartSizeBytes}");
        }
        else if (limits is not null && (PartSizeBytes < limits.MinPartSizeBytes || PartSizeBytes > limits.MaxPartSizeBytes))
        {
            errors.Add(
                $"PartSizeBytes must be between {limits.MinPartSizeBytes} and {limits.MaxPartSizeBytes} for {limits.Service}, not {PartSizeBytes}");
        }

        if (MaxConcurrency is < 1 or > 64)
        {
            errors.Add($"MaxConcurrency must be between 1 and 64, not {MaxConcurrency}");
        }

        if (MaxAttempts is < 1 or > 20)
        {
            errors.Add($"MaxAttempts must be between 1 and 20, not {MaxAttempts}");
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay)
        {
            errors.Add($"RetryBaseDelay ({RetryBaseDelay}) must be >= 0 and <= RetryMaxDelay ({RetryMaxDelay})");
        }

        if (AbortTimeout <= TimeSpan.Zero)
        {
            errors.Add($"AbortTimeout must be positive, not {AbortTimeout}");
        }

        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming every problem.</summary>
    public void EnsureValid(PartLimits? limits)
    {
        var errors = Validate(limits);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"invalid object store settings: {string.Join("; ", errors)}");
        }
    }
}
