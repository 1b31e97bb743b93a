namespace BackupDr.Repository.Storage;

/// <summary>The multipart limits of one service.</summary>
/// <param name="Service">Name for messages.</param>
/// <param name="MaxParts">Parts (S3) or blocks (Azure) one object may have.</param>
/// <param name="MinPartSizeBytes">Smallest part except the last.</param>
/// <param name="MaxPartSizeBytes">Largest part the service accepts.</param>
/// <param name="MaxObjectSizeBytes">Largest object the service accepts.</param>
internal sealed record PartLimits(string Service, int MaxParts, long MinPartSizeBytes, long MaxPartSizeBytes, long MaxObjectSizeBytes)
{
    private const long MiB = 1024 * 1024;

    /// <summary>Amazon S3: 10,000 parts of 5 MiB to 5 GiB, objects up to 5 TiB.</summary>
    public static PartLimits S3 { get; } = new("S3", 10_000, 5 * MiB, 5 * 1024 * MiB, 5 * 1024 * 1024 * MiB);

    /// <summary>Azure block blobs: 50,000 blocks of up to 4000 MiB.</summary>
    public static PartLimits AzureBlockBlob { get; } = new("Azure block blob", 50_000, 1, 4000 * MiB, 50_000 * 4000 * MiB);
}

/// <summary>
/// The part-size rule, a pure function. Part n is <c>initial * 2^((n-1) / interval)</c> bytes, where interval is
/// <c>MaxParts / 16</c> (625 parts on S3, 3125 blocks on Azure), clamped to the service's maximum part size and to
/// <see cref="MaxBufferBytes"/>. Small and medium objects use the configured size throughout (16 MiB parts up to
/// ~10 GB on S3); the size doubles only as the part count rises, so an object of unknown length never runs out of
/// parts before the service's own object limit: from a 16 MiB start S3 reaches 6.7 TiB (more than its 5 TiB limit),
/// from the 5 MiB minimum 5.6 TiB.
/// </summary>
internal static class PartSizing
{
    /// <summary>
    /// A part is one pooled array: .NET arrays stop short of 2 GiB and ArrayPool.Shared caches up to 1 GiB.
    /// Memory held by one Put is at most (concurrency + 1) parts.
    /// </summary>
    public const long MaxBufferBytes = 1L << 30;

    /// <summary>Parts between two doublings of the part size.</summary>
    public static int DoublingInterval(PartLimits limits) => Math.Max(1, limits.MaxParts / 16);

    /// <summary>Size of part <paramref name="partNumber"/> (1-based) for an upload that started at <paramref name="initialPartSizeBytes"/>.</summary>
    public static long PartSizeBytes(int partNumber, long initialPartSizeBytes, PartLimits limits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partNumber, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(initialPartSizeBytes, 1);
        var ceiling = Math.Min(limits.MaxPartSizeBytes, MaxBufferBytes);
        var initial = Math.Min(initialPartSizeBytes, ceiling);
        var doublings = (partNumber - 1) / DoublingInterval(limits);

        // Shift only while it cannot overflow; beyond that the ceiling has long been reached.
        return doublings >= 62 - (int)Math.Log2(initial) ? ceiling : Math.Min(initial << doublings, ceiling);
    }

    /// <summary>Largest object that fits in <see cref="PartLimits.MaxParts"/> parts under the rule.</summary>
    public static long CapacityBytes(long initialPartSizeBytes, PartLimits limits)
    {
        long total = 0;
        var interval = DoublingInterval(limits);
        for (var part = 1; part <= limits.MaxParts; part += interval)
        {
            var count = Math.Min(interval, limits.MaxParts - part + 1);
            total += count * PartSizeBytes(part, initialPartSizeBytes, limits);
        }

        return total;
    }

    /// <summary>Largest object Put accepts: the service limit or the rule's capacity, whichever is smaller.</summary>
    public static long MaxObjectSizeBytes(long initialPartSizeBytes, PartLimits limits) =>
        Math.Min(limits.MaxObjectSizeBytes, CapacityBytes(initialPartSizeBytes, limits));

    /// <summary>How many parts an object of <paramref name="sizeBytes"/> takes (1 for an empty object).</summary>
    public static int PartCount(long sizeBytes, long initialPartSizeBytes, PartLimits limits)
    {
        var parts = 0;
        var remaining = sizeBytes;
        do
        {
            parts++;
            remaining -= PartSizeBytes(parts, initialPartSizeBytes, limits);
        }
        while (remaining > 0);

        return parts;
    }
}
