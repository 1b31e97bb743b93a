using System.Text.Json;
using System.Text.Json.Serialization;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Drills;

/// <summary>
/// The stored form of an open drill (<c>targets/&lt;target&gt;/drills/open/&lt;drill-id&gt;.json</c>): which backup it
/// restores, who runs it, and until when the lease holds unless renewed.
/// </summary>
/// <param name="Owner">The worker replica (its instance id) or <c>backupdr drill</c>.</param>
internal sealed record DrillLeaseDocument(
    string Schema,
    int SchemaVersion,
    string DrillId,
    string Target,
    string BackupId,
    string Owner,
    string Host,
    int Pid,
    DateTimeOffset StartedAt,
    DateTimeOffset RenewedAt,
    DateTimeOffset ExpiresAt)
{
    public const string SchemaName = "backupdr-drill-lease";
}

/// <summary>
/// Makes a running drill visible in the repository, so that retention on any replica or host (not only the drill's
/// own process) keeps the backup it restores. The drill writes its lease once its backup is chosen, rewrites it every
/// <see cref="RenewEvery"/> with a new expiry <see cref="Duration"/> ahead, and deletes it after its record (or on
/// failure or cancellation). A lease past its expiry belongs to a dead process: readers ignore it, and prune sweeps it.
/// </summary>
/// <remarks>
/// Leases are plain JSON without a seal: a forged lease can only make retention keep a backup longer. Expiry is judged
/// by the reader's clock against the writer's; the 30 minutes of <see cref="Duration"/> absorb ordinary clock skew.
/// </remarks>
internal sealed class DrillLease : IAsyncDisposable
{
    public static readonly TimeSpan RenewEvery = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan Duration = TimeSpan.FromMinutes(30);
    private const int LeaseMaxBytes = 64 << 10;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private readonly IObjectStore _store;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopRenewing = new();
    private DrillLeaseDocument _document;
    private Task _renewing = Task.CompletedTask;

    private DrillLease(IObjectStore store, TimeProvider time, ObjectKey key, DrillLeaseDocument document)
    {
        _store = store;
        _time = time;
        Key = key;
        _document = document;
    }

    public ObjectKey Key { get; }

    /// <summary>The last renewal's storage error, or null when every renewal so far succeeded.</summary>
    public string? RenewalFailure { get; private set; }

    public static string Prefix(string target) => $"{RepositoryLayout.DrillsPrefix(target)}open/";

    public static ObjectKey KeyOf(string target, string drillId) => ObjectKey.Parse($"{Prefix(target)}{drillId}.json");

    /// <summary>Writes the lease (its first write is awaited: a drill that cannot announce itself does not start) and starts renewing it.</summary>
    public static async Task<DrillLease> OpenAsync(
        IObjectStore store, string target, string drillId, string backupId, string owner, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var document = new DrillLeaseDocument(
            DrillLeaseDocument.SchemaName, 1, drillId, target, backupId, owner, Environment.MachineName, Environment.ProcessId, now, now, now + Duration);
        var lease = new DrillLease(store, time, KeyOf(target, drillId), document);
        await lease.WriteAsync(cancellationToken);
        // A failed renewal is retried at the next one; the lease still holds until its expiry, six renewals away.
        lease._renewing = PeriodicRewrite.RunAsync(RenewEvery, time, lease.WriteAsync, failure => lease.RenewalFailure = failure, lease._stopRenewing.Token);
        return lease;
    }

    /// <summary>
    /// The unexpired leases of a target. A lease deleted between the listing and its read has ended and is left out;
    /// one that cannot be parsed fails the call (retention must not guess which backup it protects).
    /// </summary>
    /// <exception cref="CorruptObjectException">An object under the leases' prefix is not a drill lease of this target.</exception>
    public static async Task<IReadOnlyList<DrillLeaseDocument>> ReadLiveAsync(IObjectStore store, string target, TimeProvider time, CancellationToken cancellationToken)
    {
        var (live, _) = await ReadAllAsync(store, target, time, cancellationToken);
        return live;
    }

    /// <summary>Deletes the leases that expired more than <see cref="Duration"/> ago (their drills died); returns their keys.</summary>
    public static async Task<IReadOnlyList<ObjectKey>> SweepExpiredAsync(IObjectStore store, string target, TimeProvider time, CancellationToken cancellationToken)
    {
        var (_, expired) = await ReadAllAsync(store, target, time, cancellationToken);
        var now = time.GetUtcNow();
        var swept = new List<ObjectKey>();
        foreach (var (key, document) in expired)
        {
            if (now - document.ExpiresAt > Duration)
            {
                await store.DeleteAsync(key, cancellationToken);
                swept.Add(key);
            }
        }

        return swept;
    }

    /// <summary>Stops renewing and deletes the lease (with its own timeout: the drill's token may be cancelled already).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopRenewing.CancelAsync();
        await _renewing;
        _stopRenewing.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
        await _store.DeleteAsync(Key, timeout.Token);
    }

    private static async Task<(List<DrillLeaseDocument> Live, List<(ObjectKey Key, DrillLeaseDocument Document)> Expired)> ReadAllAsync(
        IObjectStore store, string target, TimeProvider time, CancellationToken cancellationToken)
    {
        var live = new List<DrillLeaseDocument>();
        var expired = new List<(ObjectKey, DrillLeaseDocument)>();
        var now = time.GetUtcNow();
        await foreach (var entry in store.ListAsync(Prefix(target), cancellationToken))
        {
            byte[] bytes;
            try
            {
                bytes = await BackupCatalog.ReadSmallObjectAsync(store, entry.Key, LeaseMaxBytes, "a drill lease", cancellationToken);
            }
            catch (ObjectNotFoundException)
            {
                // Deleted since the listing: that drill has ended, so it holds nothing.
                continue;
            }

            var document = Parse(bytes, entry.Key, target);
            if (document.ExpiresAt > now)
            {
                live.Add(document);
            }
            else
            {
                expired.Add((entry.Key, document));
            }
        }

        return (live, expired);
    }

    private static DrillLeaseDocument Parse(byte[] bytes, ObjectKey key, string target)
    {
        DrillLeaseDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<DrillLeaseDocument>(bytes, Options);
        }
        catch (JsonException e)
        {
            throw new CorruptObjectException(key.Value, $"it is not a valid drill lease: {e.Message}", e);
        }

        if (document is null || document.Schema != DrillLeaseDocument.SchemaName || document.Target != target
            || !BackupId.TryParse(document.DrillId, out _) || key != KeyOf(target, document.DrillId) || !BackupId.TryParse(document.BackupId, out _))
        {
            throw new CorruptObjectException(key.Value, $"it is not a drill lease of target '{target}' stored under its drill id");
        }

        return document;
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var document = _document with { RenewedAt = now, ExpiresAt = now + Duration };
        using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(document, Options), writable: false);
        await _store.PutAsync(Key, content, PutOptions.Default, cancellationToken);
        _document = document;
    }
}
