using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Alerts;

internal enum IncidentMessageKind
{
    Opened,
    Reminder,
    Resolved,
}

/// <summary>One message of an incident as claimed in the repository (written before it is sent).</summary>
internal sealed record IncidentMessage
{
    public string Schema { get; init; } = "backupdr-incident-message";
    public int SchemaVersion { get; init; } = 1;
    public required string IncidentId { get; init; }
    public required string Target { get; init; }
    public required string Tenant { get; init; }
    public required string Environment { get; init; }
    public required AlertRule Rule { get; init; }
    public required IncidentMessageKind Kind { get; init; }

    /// <summary>Reminder number (1, 2...); 0 for the opening and the resolution.</summary>
    public int Number { get; init; }

    public required DateTimeOffset At { get; init; }
    public required DateTimeOffset Since { get; init; }
    public required string Summary { get; init; }
    public required string Details { get; init; }
    public required string FirstAction { get; init; }

    /// <summary>The object name inside the incident folder: opened, reminder-0001, resolved.</summary>
    [JsonIgnore]
    public string Name => Kind switch
    {
        IncidentMessageKind.Reminder => $"reminder-{Number.ToString("D4", CultureInfo.InvariantCulture)}",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}

/// <summary>What the notifiers did with a claimed message (written after sending).</summary>
internal sealed record IncidentDelivery(DateTimeOffset At, IReadOnlyList<Alerts.CanaryDelivery> Deliveries);

/// <summary>One incident: its messages in order, which of them were sent, and whether it is still open.</summary>
internal sealed record Incident(long Sequence, IReadOnlyList<IncidentMessage> Messages, IReadOnlyDictionary<string, IncidentDelivery> Sent)
{
    public IncidentMessage Opened => Messages[0];

    public IncidentMessage Latest => Messages[^1];

    public bool IsOpen => Latest.Kind != IncidentMessageKind.Resolved;

    public DateTimeOffset? ResolvedAt => IsOpen ? null : Latest.At;
}

/// <summary>
/// Incident state in the repository, so that a restart or a second replica neither repeats nor loses an alert:
/// <c>alerts/incidents/&lt;target&gt;/&lt;rule&gt;/&lt;sequence:D8&gt;/{opened,reminder-NNNN,resolved}.json</c>, each
/// written create-only before the message is sent (the writer that creates it is the one that sends it), and
/// <c>&lt;name&gt;.sent.json</c> after sending. A claim left without its <c>.sent</c> by a process that died is taken over
/// once with a create-only <c>&lt;name&gt;.retry.json</c>. Incidents are numbered per target and rule; the newest
/// one is open until it has a <c>resolved.json</c>.
/// </summary>
internal sealed class IncidentLog(IObjectStore store)
{
    public const string Prefix = "alerts/incidents/";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = true,
    };

    public static string Folder(string target, AlertRule rule) => $"{Prefix}{target}/{rule}/";

    public static ObjectKey KeyOf(string target, AlertRule rule, long sequence, string name) =>
        ObjectKey.Parse($"{Folder(target, rule)}{sequence.ToString("D8", CultureInfo.InvariantCulture)}/{name}.json");

    /// <summary>The newest incident of a target and rule, or null when there never was one.</summary>
    public async Task<Incident?> ReadLatestAsync(string target, AlertRule rule, CancellationToken cancellationToken)
    {
        var incidents = await ReadAsync(Folder(target, rule), cancellationToken);
        return incidents.Count == 0 ? null : incidents[^1];
    }

    /// <summary>Every incident under the prefix (all targets when <paramref name="target"/> is null), oldest first per target and rule.</summary>
    public Task<IReadOnlyList<Incident>> ListAsync(string? target, CancellationToken cancellationToken) =>
        ReadAsync(target is null ? Prefix : $"{Prefix}{target}/", cancellationToken);

    /// <summary>Writes the message create-only. False: another writer claimed it first (and sends it).</summary>
    public async Task<bool> TryClaimAsync(long sequence, IncidentMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return await TryCreateAsync(KeyOf(message.Target, message.Rule, sequence, message.Name), message, cancellationToken);
    }

    /// <summary>Takes over a claim whose writer never recorded sending it. False: another writer took it over.</summary>
    public Task<bool> TryTakeOverAsync(long sequence, IncidentMessage message, DateTimeOffset at, CancellationToken cancellationToken) =>
        TryCreateAsync(KeyOf(message.Target, message.Rule, sequence, message.Name + ".retry"), new { at }, cancellationToken);

    public async Task MarkSentAsync(long sequence, IncidentMessage message, IncidentDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var body = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(delivery, Options), writable: false);
        await store.PutAsync(KeyOf(message.Target, message.Rule, sequence, message.Name + ".sent"), body, PutOptions.Default, cancellationToken);
    }

    private async Task<bool> TryCreateAsync<T>(ObjectKey key, T document, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(document, Options), writable: false);
        try
        {
            await store.PutAsync(key, body, PutOptions.CreateOnly, cancellationToken);
            return true;
        }
        catch (ObjectAlreadyExistsException)
        {
            return false;
        }
    }

    private async Task<IReadOnlyList<Incident>> ReadAsync(string prefix, CancellationToken cancellationToken)
    {
        // Keys list in order: per target and rule, per sequence, the messages by name; collect, then order each incident.
        var groups = new SortedDictionary<string, (List<IncidentMessage> Messages, Dictionary<string, IncidentDelivery> Sent)>(StringComparer.Ordinal);
        await foreach (var info in store.ListAsync(prefix, cancellationToken))
        {
            var name = info.Key.Name;
            var folder = info.Key.Value[..^(name.Length + 1)];
            if (!groups.TryGetValue(folder, out var group))
            {
                group = ([], new Dictionary<string, IncidentDelivery>(StringComparer.Ordinal));
                groups[folder] = group;
            }

            if (name.EndsWith(".sent.json", StringComparison.Ordinal))
            {
                group.Sent[name[..^".sent.json".Length]] = await ReadJsonAsync<IncidentDelivery>(info.Key, cancellationToken);
            }
            else if (!name.EndsWith(".retry.json", StringComparison.Ordinal))
            {
                group.Messages.Add(await ReadJsonAsync<IncidentMessage>(info.Key, cancellationToken));
            }
        }

        var incidents = new List<Incident>();
        foreach (var (folder, group) in groups)
        {
            var opened = group.Messages.Where(m => m.Kind == IncidentMessageKind.Opened).ToList();
            if (opened.Count != 1)
            {
                throw new CorruptObjectException(folder, "an incident folder must hold exactly one opened.json");
            }

            var ordered = group.Messages.OrderBy(m => m.Kind == IncidentMessageKind.Opened ? 0 : m.Kind == IncidentMessageKind.Reminder ? 1 : 2)
                .ThenBy(m => m.Number).ToList();
            var sequence = long.Parse(folder[(folder.LastIndexOf('/') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
            incidents.Add(new Incident(sequence, ordered, group.Sent));
        }

        return incidents;
    }

    private async Task<T> ReadJsonAsync<T>(ObjectKey key, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenReadAsync(key, cancellationToken);
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(stream, Options, cancellationToken)
                ?? throw new CorruptObjectException(key.Value, "is empty");
        }
        catch (JsonException e)
        {
            throw new CorruptObjectException(key.Value, $"is not an incident record: {e.Message}", e);
        }
    }
}
