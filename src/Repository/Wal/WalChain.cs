using System.Globalization;
using System.Text;

namespace BackupDr.Repository.Wal;

/// <summary>One timeline of the history that leads to the newest timeline: it holds WAL from its start segment on.</summary>
/// <param name="EndLsn">Where the next timeline branched off (null for the newest timeline).</param>
internal sealed record TimelineSpan(uint Timeline, ulong FirstSegment, Lsn? EndLsn);

/// <summary>A run of segments the archive should hold and does not (or holds only as an unfinished partial).</summary>
internal sealed record WalGap(string FirstMissing, string LastMissing, ulong Segments, string Reason)
{
    public override string ToString() => Segments == 1
        ? $"{FirstMissing} {Reason}"
        : string.Create(CultureInfo.InvariantCulture, $"{FirstMissing}..{LastMissing} ({Segments} segments) {Reason}");
}

/// <summary>What the chain check found: the range it covered and every gap in it.</summary>
internal sealed record WalChainReport(string? FirstSegment, string? LastSegment, ulong SegmentsChecked, IReadOnlyList<WalGap> Gaps, IReadOnlyList<string> Problems)
{
    public bool IsContinuous => Gaps.Count == 0 && Problems.Count == 0;
}

/// <summary>
/// Checks that a WAL archive holds every segment recovery will ask for, as PostgreSQL's recovery reads them: for each
/// segment number, the file of the newest timeline (in the newest timeline's history) that had begun by that segment.
/// The last segment of the archive may be a partial; any other segment must be whole.
/// </summary>
internal static class WalChain
{
    /// <summary>Parses a timeline history file: lines <c>parentTLI &lt;tab&gt; switchpoint &lt;tab&gt; reason</c>.</summary>
    public static IReadOnlyList<(uint Timeline, Lsn SwitchPoint)> ParseHistory(string text)
    {
        var entries = new List<(uint, Lsn)>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !uint.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var timeline) || !Lsn.TryParse(fields[1], out var switchPoint))
            {
                throw new InvalidDataException($"not a timeline history line: '{line}'");
            }

            entries.Add((timeline, switchPoint));
        }

        return entries;
    }

    /// <summary>The timelines leading to <paramref name="newest"/>, oldest first (history entries come from its history file).</summary>
    public static IReadOnlyList<TimelineSpan> Spans(uint newest, IReadOnlyList<(uint Timeline, Lsn SwitchPoint)> history, long segmentSizeBytes)
    {
        var spans = new List<TimelineSpan>();
        ulong first = 0;
        foreach (var (timeline, switchPoint) in history)
        {
            spans.Add(new TimelineSpan(timeline, first, switchPoint));
            first = switchPoint.Segment(segmentSizeBytes);
        }

        spans.Add(new TimelineSpan(newest, first, null));
        return spans;
    }

    /// <summary>
    /// Checks the archive from <paramref name="from"/> (a base backup's start) to the newest segment of the newest
    /// timeline. <paramref name="historyText"/> reads a history file's text (null when it is not archived).
    /// </summary>
    public static async Task<WalChainReport> CheckAsync(
        WalListing listing, WalSegmentName from, long segmentSizeBytes, Func<ArchivedWal, Task<string>> historyText)
    {
        var problems = new List<string>();
        var segments = listing.Objects.Where(o => o.Kind != WalObjectKind.History).ToList();
        if (segments.Count == 0)
        {
            return new WalChainReport(null, null, 0, [new WalGap(from.Format(segmentSizeBytes), from.Format(segmentSizeBytes), 1, "missing: the archive holds no WAL at all")], problems);
        }

        var newest = segments.Max(o => o.Timeline);
        IReadOnlyList<TimelineSpan>? spans = null;
        if (newest > 1)
        {
            var file = listing.Find(WalSegmentName.HistoryFileName(newest));
            if (file is null)
            {
                problems.Add($"missing: {WalSegmentName.HistoryFileName(newest)}, the history file of timeline {newest}: recovery cannot follow the switch to it from an older timeline");

                // Without it, each archived timeline is taken to begin at its lowest archived segment, so that holes are
                // still named on the timeline that holds the neighbouring segments (not every older segment under the new name).
                spans = segments.GroupBy(o => o.Timeline).OrderBy(g => g.Key)
                    .Select((g, i) => new TimelineSpan(g.Key, i == 0 ? 0 : g.Min(o => WalSegmentName.Parse(o.FileName, segmentSizeBytes).Segment), null))
                    .ToList();
            }
            else
            {
                spans = Spans(newest, ParseHistory(await historyText(file)), segmentSizeBytes);
            }
        }

        spans ??= Spans(newest, [], segmentSizeBytes);
        if (spans.All(s => s.Timeline != from.Timeline))
        {
            problems.Add($"timeline {from.Timeline} of {from.Format(segmentSizeBytes)} is not in the history of the newest timeline {newest}");
        }

        var byName = segments.GroupBy(o => o.FileName).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var last = segments.Where(o => o.Timeline == newest)
            .Select(o => WalSegmentName.Parse(o.FileName, segmentSizeBytes).Segment).DefaultIfEmpty(from.Segment).Max();
        var gaps = new List<WalGap>();
        WalGap? open = null;
        ulong checkedCount = 0;
        for (var segment = from.Segment; segment <= last; segment++)
        {
            checkedCount++;
            var timeline = spans.Last(s => s.FirstSegment <= segment).Timeline;
            var name = new WalSegmentName(timeline, segment).Format(segmentSizeBytes);
            string? reason = null;
            if (!byName.TryGetValue(name, out var found))
            {
                reason = "missing";
            }
            else if (segment != last && found.All(o => o.Kind == WalObjectKind.Partial))
            {
                reason = "only partly archived (no whole segment)";
            }

            if (reason is null)
            {
                open = null;
                continue;
            }

            if (open is not null && open.Reason == reason)
            {
                open = open with { LastMissing = name, Segments = open.Segments + 1 };
                gaps[^1] = open;
            }
            else
            {
                open = new WalGap(name, name, 1, reason);
                gaps.Add(open);
            }
        }

        return new WalChainReport(from.Format(segmentSizeBytes), new WalSegmentName(newest, last).Format(segmentSizeBytes), checkedCount, gaps, problems);
    }

    public static async Task<string> ReadHistoryAsync(WalArchive archive, ArchivedWal history, CancellationToken cancellationToken) =>
        Encoding.UTF8.GetString(await archive.ReadAsync(history, 0, cancellationToken));
}
