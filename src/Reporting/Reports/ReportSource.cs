using System.Collections.Concurrent;
using System.Security.Cryptography;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Reporting.Reports;

/// <summary>A good recovery point: a backup whose manifest exists and whose seal verifies.</summary>
internal sealed record BackupPoint(string Target, string BackupId, DateTimeOffset StartedAt, DateTimeOffset RecoveryPoint, string ManifestSha256);

/// <summary>Everything a monthly report is computed from, read from the repository.</summary>
/// <param name="Backups">Per target: the backups of the period and the last one before it.</param>
/// <param name="Drills">The drills of the period and of the 11 months before it (for the trend).</param>
/// <param name="StoredBytesByTarget">Bytes stored under <c>targets/&lt;target&gt;/</c> now.</param>
internal sealed record ReportInputs(
    IReadOnlyList<BackupPoint> Backups,
    IReadOnlyList<DrillEvidence> Drills,
    IReadOnlyList<Incident> Incidents,
    IReadOnlyList<CanaryRecord> Canaries,
    IReadOnlyDictionary<string, long> StoredBytesByTarget);

/// <summary>
/// Reads the report's inputs. One listing of <c>targets/</c> gives every manifest, drill record and object size; ids
/// carry their time, so only the manifests and drill records the report needs are read (in parallel), each checked:
/// a manifest's seal by unwrapping its data key, a drill record's seal by its MAC. Damage fails the report loudly.
/// </summary>
internal static class ReportSource
{
    private const int Parallelism = 16;

    public static async Task<ReportInputs> LoadAsync(
        IObjectStore store, MasterKey masterKey, DateTimeOffset periodStart, DateTimeOffset periodEnd, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var trendStart = periodStart.AddMonths(-11);
        var manifests = new Dictionary<string, List<ObjectKey>>(StringComparer.Ordinal);
        var drills = new List<ObjectKey>();
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (var info in store.ListAsync(RepositoryLayout.TargetsPrefix, cancellationToken))
        {
            var segments = info.Key.Value.Split('/');
            var target = segments[1];
            sizes[target] = sizes.GetValueOrDefault(target) + info.SizeBytes;
            if (RepositoryLayout.IsManifest(info.Key) && BackupId.TryParse(segments[3], out var backup) && backup.StartedAt < periodEnd)
            {
                if (!manifests.TryGetValue(target, out var keys))
                {
                    manifests[target] = keys = [];
                }

                keys.Add(info.Key);
            }
            else if (RepositoryLayout.IsDrillRecord(info.Key) && BackupId.TryParse(info.Key.Name[..^".json".Length], out var drill)
                && drill.StartedAt >= trendStart && drill.StartedAt < periodEnd)
            {
                drills.Add(info.Key);
            }
        }

        // Keys list in order, so per target the manifests are oldest first: keep the period's and the one before.
        var wanted = new List<ObjectKey>();
        foreach (var keys in manifests.Values)
        {
            var first = keys.FindIndex(k => BackupId.Parse(k.Value.Split('/')[3]).StartedAt >= periodStart);
            wanted.AddRange(first < 0 ? keys.TakeLast(1) : keys.Skip(Math.Max(0, first - 1)));
        }

        var backups = new ConcurrentBag<BackupPoint>();
        await Parallel.ForEachAsync(wanted, Options(cancellationToken), async (key, token) =>
        {
            var (bytes, sha256) = await ReadAsync(store, key, token);
            BackupManifest manifest;
            try
            {
                manifest = BackupManifestSerializer.Deserialize(bytes, key.Value);
            }
            catch (InvalidDataException e)
            {
                throw new CorruptObjectException(key.Value, e.Message, e);
            }

            using (BackupCatalog.OpenDataKey(masterKey, manifest))
            {
                // Unwrapping proves the seal: the manifest is the one BackupDr wrote.
            }

            backups.Add(new BackupPoint(manifest.Target, manifest.BackupId, manifest.StartedAt, manifest.RecoveryPoint, sha256));
        });

        var drillRecords = new ConcurrentBag<DrillEvidence>();
        await Parallel.ForEachAsync(drills, Options(cancellationToken), async (key, token) =>
        {
            var (bytes, sha256) = await ReadAsync(store, key, token);
            drillRecords.Add(new DrillEvidence(DrillRecords.Parse(bytes, key, masterKey), sha256));
        });

        return new ReportInputs(
            [.. backups.OrderBy(b => b.Target, StringComparer.Ordinal).ThenBy(b => b.BackupId, StringComparer.Ordinal)],
            [.. drillRecords.OrderBy(d => d.Record.Target, StringComparer.Ordinal).ThenBy(d => d.Record.DrillId, StringComparer.Ordinal)],
            await new IncidentLog(store).ListAsync(null, cancellationToken),
            await CanaryRecord.ListAsync(store, cancellationToken),
            sizes);
    }

    private static ParallelOptions Options(CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken };

    /// <summary>A manifest or drill record (bounded: at most 4 MiB) with the SHA-256 of its stored bytes.</summary>
    private static async Task<(byte[] Bytes, string Sha256)> ReadAsync(IObjectStore store, ObjectKey key, CancellationToken cancellationToken)
    {
        var bytes = await BackupCatalog.ReadSmallObjectAsync(store, key, 4 << 20, "a manifest or drill record", cancellationToken);
        return (bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }
}
