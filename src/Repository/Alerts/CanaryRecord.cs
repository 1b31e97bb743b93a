using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Alerts;

internal enum CanaryKind
{
    /// <summary><c>backupdr alert test</c>, run by a person.</summary>
    Manual,

    /// <summary>The monthly scheduled canary: the drill rule's alert for a drill whose probe failed on purpose.</summary>
    Scheduled,
}

/// <param name="Notifier">"email", "webhook".</param>
/// <param name="Error">Why it was not delivered; null when it was.</param>
internal sealed record CanaryDelivery(string Notifier, bool Delivered, int Attempts, string? Error);

/// <summary>
/// Evidence that alerts reach on-call: which notifiers accepted a test alert, when. Stored as
/// <c>alerts/canary/&lt;yyyyMMddTHHmmssfffZ&gt;.json</c>; the monthly report quotes the newest proof of the month.
/// </summary>
internal sealed record CanaryRecord
{
    public const string SchemaName = "backupdr-alert-canary";
    public const string Prefix = "alerts/canary/";

    public string Schema { get; init; } = SchemaName;
    public int SchemaVersion { get; init; } = 1;
    public required DateTimeOffset At { get; init; }
    public required CanaryKind Kind { get; init; }
    public required string Host { get; init; }

    /// <summary>The rule whose alert was sent (<see cref="AlertRule.Test"/> for <c>alert test</c>); absent in older records.</summary>
    public AlertRule? Rule { get; init; }

    /// <summary>What raised the alert: for the scheduled canary, the drill, its failing probe and its outcome.</summary>
    public string? Evidence { get; init; }

    public required IReadOnlyList<CanaryDelivery> Deliveries { get; init; }

    /// <summary>True when every configured notifier delivered (and at least one is configured).</summary>
    public bool Proven => Deliveries.Count > 0 && Deliveries.All(d => d.Delivered);

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = true,
    };

    public static ObjectKey KeyOf(DateTimeOffset at) =>
        ObjectKey.Parse($"{Prefix}{at.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}.json");

    public async Task WriteAsync(IObjectStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var body = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(this, Options), writable: false);
        await store.PutAsync(KeyOf(At), body, PutOptions.CreateOnly, cancellationToken);
    }

    /// <summary>Every canary record in the repository, oldest first.</summary>
    /// <exception cref="Integrity.CorruptObjectException">A record does not parse: it is reported, never skipped.</exception>
    public static async Task<IReadOnlyList<CanaryRecord>> ListAsync(IObjectStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var records = new List<CanaryRecord>();
        await foreach (var info in store.ListAsync(Prefix, cancellationToken))
        {
            await using var stream = await store.OpenReadAsync(info.Key, cancellationToken);
            try
            {
                records.Add(await JsonSerializer.DeserializeAsync<CanaryRecord>(stream, Options, cancellationToken)
                    ?? throw new Integrity.CorruptObjectException(info.Key.Value, "is empty"));
            }
            catch (JsonException e)
            {
                throw new Integrity.CorruptObjectException(info.Key.Value, $"is not a canary record: {e.Message}", e);
            }
        }

        return records;
    }
}
