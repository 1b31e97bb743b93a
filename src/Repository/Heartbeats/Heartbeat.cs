using System.Text.Json;
using System.Text.Json.Serialization;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Heartbeats;

/// <summary>
/// The sign of life of one <c>backupdr run</c> replica, rewritten every heartbeat interval at
/// <c>service/heartbeat/&lt;instance&gt;.json</c>. A report, an alert or another replica reads these to tell
/// "the worker has been silent for N hours" from the repository alone, without reaching the replica.
/// </summary>
/// <param name="SchedulerState">The Quartz scheduler status (Running, Standby, ShutdownInProgress...): only Running runs jobs.</param>
/// <param name="Interval">How often the replica promised to write: silence is measured in intervals.</param>
internal sealed record Heartbeat(
    string InstanceId,
    string Host,
    string Version,
    DateTimeOffset WrittenAt,
    DateTimeOffset StartedAt,
    TimeSpan Interval,
    string SchedulerState,
    bool Clustered,
    int Targets,
    int JobsRunning)
{
    public string Schema { get; init; } = SchemaName;

    public const string SchemaName = "backupdr-heartbeat";

    /// <summary>How long this replica has been silent at <paramref name="now"/>.</summary>
    public TimeSpan SilentFor(DateTimeOffset now) => now - WrittenAt;
}

/// <summary>Reads and writes heartbeats. Writes replace the replica's previous heartbeat atomically (a whole object or none).</summary>
internal static class HeartbeatStore
{
    public const string Prefix = "service/heartbeat/";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static ObjectKey Key(string instanceId) => ObjectKey.Parse(Prefix + instanceId + ".json");

    public static async Task WriteAsync(IObjectStore store, Heartbeat heartbeat, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(heartbeat, Options), writable: false);
        await store.PutAsync(Key(heartbeat.InstanceId), body, PutOptions.Default, cancellationToken);
    }

    /// <summary>Every replica's last heartbeat, newest first. An unreadable heartbeat object is reported, not skipped.</summary>
    /// <exception cref="InvalidDataException">An object under <see cref="Prefix"/> is not a heartbeat.</exception>
    public static async Task<IReadOnlyList<Heartbeat>> ReadAllAsync(IObjectStore store, CancellationToken cancellationToken)
    {
        var heartbeats = new List<Heartbeat>();
        await foreach (var entry in store.ListAsync(Prefix, cancellationToken))
        {
            await using var stream = await store.OpenReadAsync(entry.Key, cancellationToken);
            Heartbeat? heartbeat;
            try
            {
                heartbeat = await JsonSerializer.DeserializeAsync<Heartbeat>(stream, Options, cancellationToken);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{entry.Key} is not a heartbeat: {e.Message}", e);
            }

            heartbeats.Add(heartbeat is { Schema: Heartbeat.SchemaName }
                ? heartbeat
                : throw new InvalidDataException($"{entry.Key} is not a heartbeat."));
        }

        return heartbeats.OrderByDescending(h => h.WrittenAt).ToList();
    }
}
