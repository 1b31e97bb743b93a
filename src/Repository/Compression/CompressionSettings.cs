namespace BackupDr.Repository.Compression;

/// <summary>
/// How zstd compresses. <see cref="Level"/> 3 is zstd's default; <see cref="Workers"/> is zstd's
/// <c>ZSTD_c_nbWorkers</c>: 0 compresses on the writing thread, N &gt; 0 on N background threads (about 640 MB/s
/// with 2 against 240 MB/s with none on Odoo dumps, see FACTS.md). The output is a valid zstd frame either way.
/// </summary>
internal sealed record CompressionSettings
{
    public const int DefaultLevel = 3;
    public const int MinimumLevel = 1;
    public const int MaximumLevel = 19;
    public const int MaximumWorkers = 64;

    public CompressionSettings(int level = DefaultLevel, int? workers = null)
    {
        if (level is < MinimumLevel or > MaximumLevel)
        {
            throw new ArgumentOutOfRangeException(
                nameof(level), level, $"the zstd level must be between {MinimumLevel} and {MaximumLevel}");
        }

        var resolvedWorkers = workers ?? DefaultWorkers;
        if (resolvedWorkers is < 0 or > MaximumWorkers)
        {
            throw new ArgumentOutOfRangeException(
                nameof(workers), resolvedWorkers, $"the zstd worker count must be between 0 and {MaximumWorkers}");
        }

        Level = level;
        Workers = resolvedWorkers;
    }

    /// <summary>min(2, processor count): two workers nearly triple the rate; more add little next to pg_dump.</summary>
    public static int DefaultWorkers => Math.Min(2, Environment.ProcessorCount);

    public static CompressionSettings Default { get; } = new();

    public int Level { get; }

    public int Workers { get; }
}
