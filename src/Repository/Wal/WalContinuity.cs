using BackupDr.Repository.Backups;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Wal;

/// <summary>A stretch of time every moment of which can be restored (from <paramref name="From"/> to <paramref name="To"/>).</summary>
internal sealed record RestorableSpan(DateTimeOffset From, DateTimeOffset To);

/// <summary>
/// The continuity of a target's WAL archive from its oldest base backup on, from listings alone (no segment is read).
/// </summary>
/// <param name="Chain">The chain check (null when there is no base backup: nothing is promised yet).</param>
/// <param name="LastArchivedBeforeHole">When the segment just before the first gap was stored: WAL written after about
/// then cannot be replayed (null when the archive is continuous or that segment is missing too).</param>
/// <param name="RestorableAgainFrom">The oldest base backup that starts after the first gap: moments from its recovery
/// point on can be restored again (null: none yet).</param>
internal sealed record WalContinuity(
    IReadOnlyList<BackupManifest> BaseBackups, WalChainReport? Chain, DateTimeOffset? LastArchivedBeforeHole, BackupManifest? RestorableAgainFrom)
{
    public WalGap? FirstGap => Chain?.Gaps.Count > 0 ? Chain.Gaps[0] : null;

    /// <summary>
    /// What can be restored now, per base backup: from its recovery point to <paramref name="coveredUntil"/> when no gap
    /// follows its start; to about the first hole when it follows (the hole's time is known for the first gap only, so a
    /// base backup before a later gap counts as its recovery point alone: the figure errs towards a longer gap, never a
    /// shorter one). A base backup whose start segment is missing, or a chain with a problem (a missing history file),
    /// contributes its recovery point alone.
    /// </summary>
    public IReadOnlyList<RestorableSpan> Spans(DateTimeOffset? coveredUntil)
    {
        if (Chain is null)
        {
            return [];
        }

        var spans = new List<RestorableSpan>();
        foreach (var b in BaseBackups)
        {
            var size = b.Pitr!.WalSegmentSizeBytes;
            var start = WalSegmentName.Parse(b.Pitr.StartSegment, size).Segment;
            var next = Chain.Gaps.FirstOrDefault(g => WalSegmentName.Parse(g.LastMissing, size).Segment >= start);
            DateTimeOffset? end = Chain.Problems.Count > 0 ? null
                : next is null ? coveredUntil
                : WalSegmentName.Parse(next.FirstMissing, size).Segment > start && ReferenceEquals(next, FirstGap) ? LastArchivedBeforeHole
                : null;
            spans.Add(new RestorableSpan(b.RecoveryPoint, end is { } e && e > b.RecoveryPoint ? e : b.RecoveryPoint));
        }

        return spans;
    }

    /// <summary>
    /// Checks the chain from the oldest base backup's start segment. A hole is confirmed by a second listing: a running
    /// archiver stores a whole segment before it deletes that segment's partial, so a listing that passed the whole
    /// segment's key before it existed and the partial's after it was deleted misses a segment that is not missing.
    /// </summary>
    public static async Task<WalContinuity> CheckAsync(IObjectStore store, MasterKey masterKey, string target, CancellationToken cancellationToken)
    {
        var bases = await Wal.BaseBackups.ListAsync(store, target, cancellationToken);
        if (bases.Count == 0)
        {
            return new WalContinuity(bases, null, null, null);
        }

        using var walKey = WalKeys.Derive(masterKey, target);
        var archive = new WalArchive(store, target, walKey);
        var oldest = bases.MinBy(b => Lsn.Parse(b.Pitr!.StartLsn))!.Pitr!;
        var size = oldest.WalSegmentSizeBytes;
        var from = WalSegmentName.Parse(oldest.StartSegment, size);
        WalListing listing = null!;
        WalChainReport chain = null!;
        for (var attempt = 0; attempt < 2 && chain is not { IsContinuous: true }; attempt++)
        {
            listing = await archive.ListAsync(cancellationToken);
            chain = await WalChain.CheckAsync(listing, from, size, h => WalChain.ReadHistoryAsync(archive, h, cancellationToken));
        }

        if (chain.Gaps.Count == 0)
        {
            return new WalContinuity(bases, chain, null, null);
        }

        var gap = chain.Gaps[0];
        var first = WalSegmentName.Parse(gap.FirstMissing, size);
        var last = WalSegmentName.Parse(gap.LastMissing, size);
        DateTimeOffset? before = null;
        if (first.Segment > from.Segment
            && listing.Objects.Where(o => o.Kind != WalObjectKind.History && WalSegmentName.TryParse(o.FileName, size, out var n) && n.Segment == first.Segment - 1)
                .MaxBy(o => o.Timeline) is { } previous
            && await store.StatAsync(previous.Key, cancellationToken) is { } info)
        {
            before = info.LastModified;
        }

        var again = bases.Where(b => WalSegmentName.Parse(b.Pitr!.StartSegment, size).Segment > last.Segment).MinBy(b => b.RecoveryPoint);
        return new WalContinuity(bases, chain, before, again);
    }
}
