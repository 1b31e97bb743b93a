using System.Globalization;

namespace BackupDr.Repository.Wal;

/// <summary>A WAL location (LSN), written by PostgreSQL as two hex halves: <c>16/B374D848</c>.</summary>
internal readonly record struct Lsn(ulong Value) : IComparable<Lsn>
{
    public static Lsn Parse(string text)
    {
        if (!TryParse(text, out var lsn))
        {
            throw new FormatException($"'{text}' is not a WAL location (LSN); write it as PostgreSQL does, e.g. 0/3000060");
        }

        return lsn;
    }

    public static bool TryParse(string? text, out Lsn lsn)
    {
        lsn = default;
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (text is null || slash <= 0
            || !uint.TryParse(text.AsSpan(0, slash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var high)
            || !uint.TryParse(text.AsSpan(slash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var low))
        {
            return false;
        }

        lsn = new Lsn(((ulong)high << 32) | low);
        return true;
    }

    /// <summary>The segment number holding this location, for segments of <paramref name="segmentSizeBytes"/>.</summary>
    public ulong Segment(long segmentSizeBytes) => Value / (ulong)segmentSizeBytes;

    public int CompareTo(Lsn other) => Value.CompareTo(other.Value);

    public static bool operator <(Lsn left, Lsn right) => left.Value < right.Value;

    public static bool operator >(Lsn left, Lsn right) => left.Value > right.Value;

    public static bool operator <=(Lsn left, Lsn right) => left.Value <= right.Value;

    public static bool operator >=(Lsn left, Lsn right) => left.Value >= right.Value;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Value >> 32:X}/{Value & 0xFFFFFFFF:X}");
}

/// <summary>
/// The name of a WAL segment file, <c>TTTTTTTTXXXXXXXXYYYYYYYY</c> (timeline, then the segment number split into the
/// "log" and the segment within it, all hex): the names <c>pg_receivewal</c> writes and <c>restore_command</c> asks for.
/// </summary>
internal readonly record struct WalSegmentName(uint Timeline, ulong Segment)
{
    public const int Length = 24;
    public const long DefaultSegmentSizeBytes = 16L << 20;

    public static bool TryParse(string? text, long segmentSizeBytes, out WalSegmentName name)
    {
        name = default;
        if (text is null || text.Length != Length || !text.All(char.IsAsciiHexDigitUpper)
            || !uint.TryParse(text.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var timeline)
            || !uint.TryParse(text.AsSpan(8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var log)
            || !uint.TryParse(text.AsSpan(16, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var seg)
            || seg >= SegmentsPerLog(segmentSizeBytes))
        {
            return false;
        }

        name = new WalSegmentName(timeline, log * SegmentsPerLog(segmentSizeBytes) + seg);
        return true;
    }

    public static WalSegmentName Parse(string text, long segmentSizeBytes) =>
        TryParse(text, segmentSizeBytes, out var name) ? name : throw new FormatException($"'{text}' is not a WAL segment file name");

    /// <summary>Timeline history files are named <c>TTTTTTTT.history</c>.</summary>
    public static bool TryParseHistory(string? text, out uint timeline)
    {
        timeline = 0;
        return text is { Length: 16 } && text.EndsWith(".history", StringComparison.Ordinal)
            && text[..8].All(char.IsAsciiHexDigitUpper)
            && uint.TryParse(text.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out timeline);
    }

    public static string HistoryFileName(uint timeline) => string.Create(CultureInfo.InvariantCulture, $"{timeline:X8}.history");

    public string Format(long segmentSizeBytes)
    {
        var perLog = SegmentsPerLog(segmentSizeBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Timeline:X8}{Segment / perLog:X8}{Segment % perLog:X8}");
    }

    /// <summary>The first location of the segment.</summary>
    public Lsn Start(long segmentSizeBytes) => new(Segment * (ulong)segmentSizeBytes);

    private static ulong SegmentsPerLog(long segmentSizeBytes) => 0x1_0000_0000UL / (ulong)segmentSizeBytes;
}
