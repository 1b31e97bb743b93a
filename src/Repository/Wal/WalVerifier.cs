using BackupDr.Repository.Backups;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Wal;

/// <summary>What <c>verify --wal</c> found: the chain from the oldest base backup, and every object that failed to read.</summary>
internal sealed record WalVerifyReport(
    int BaseBackups, int WalObjects, WalChainReport? Chain, IReadOnlyList<(string Key, string Problem)> Damaged, IReadOnlyList<ObjectKey> Foreign)
{
    public bool IsIntact => Chain is { IsContinuous: true } && Damaged.Count == 0 && Foreign.Count == 0;
}

/// <summary>
/// Checks a target's PITR data in full: the WAL chain from the oldest base backup's start to the archive's end (every
/// segment recovery would ask for, on the right timeline), every base backup's tar and every WAL object read, decrypted
/// and checked against its SHA-256. A base backup with no WAL after it is reported as a gap: it cannot be restored.
/// </summary>
internal static class WalVerifier
{
    public static async Task<WalVerifyReport> VerifyAsync(BackupRepository repository, string target, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var store = repository.Store;
        var bases = await BaseBackups.ListAsync(store, target, cancellationToken);
        using var walKey = WalKeys.Derive(repository.MasterKey, target);
        var archive = new WalArchive(store, target, walKey);
        var listing = await archive.ListAsync(cancellationToken);
        var damaged = new List<(string, string)>();
        long bytes = 0;
        WalChainReport? chain = null;
        if (bases.Count > 0)
        {
            var oldest = bases[0].Pitr!;
            chain = await WalChain.CheckAsync(listing, WalSegmentName.Parse(oldest.StartSegment, oldest.WalSegmentSizeBytes), oldest.WalSegmentSizeBytes,
                h => WalChain.ReadHistoryAsync(archive, h, cancellationToken));
        }

        foreach (var manifest in bases)
        {
            var entry = manifest.Object(BaseBackups.TarObjectName);
            try
            {
                using var dataKey = BaseBackups.OpenDataKey(repository.MasterKey, manifest);
                await using var stream = await BackupObjects.OpenReadAsync(store, entry, dataKey, cancellationToken);
                var buffer = new byte[1 << 20];
                int read;
                while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    bytes += read;
                    progress?.Report(bytes);
                }
            }
            catch (Exception e) when (e is CorruptObjectException or ObjectNotFoundException or InvalidDataException)
            {
                damaged.Add((entry.Key, e.Message));
            }
        }

        foreach (var wal in listing.Objects)
        {
            try
            {
                bytes += (await archive.ReadCurrentAsync(wal, cancellationToken)).Content.Length;
                progress?.Report(bytes);
            }
            catch (Exception e) when (e is CorruptObjectException or ObjectNotFoundException or InvalidDataException)
            {
                damaged.Add((wal.Key.Value, e.Message));
            }
        }

        return new WalVerifyReport(bases.Count, listing.Objects.Count, chain, damaged, listing.Foreign);
    }
}
