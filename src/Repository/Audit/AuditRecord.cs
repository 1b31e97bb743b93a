using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using BackupDr.Repository.Crypto;

namespace BackupDr.Repository.Audit;

/// <summary>What an audit record attests.</summary>
internal enum AuditEventKind
{
    BackupCreated,
    DrillRecorded,
    BackupPruned,
    ReportPublished,
    ConfigurationChanged,
}

/// <summary>What a caller asks to record; <see cref="AuditTrail"/> adds the sequence, time, chain and MAC.</summary>
/// <param name="Target">The target it concerns, or "" for the repository as a whole.</param>
/// <param name="Subject">What it is about: a backup id, a drill id, a month, a configuration fingerprint.</param>
/// <param name="Details">Evidence such as object SHA-256s. Never a secret: callers put only ids, sizes and hashes here.</param>
internal sealed record AuditEntry(AuditEventKind Kind, string Target, string Subject, IReadOnlyDictionary<string, string> Details);

/// <summary>
/// One record of the append-only audit trail, stored as <c>audit/&lt;sequence:D12&gt;.json</c>. Each record carries the
/// MAC of the one before it (<see cref="Previous"/>) and its own <see cref="Mac"/>: HMAC-SHA256 over its canonical JSON
/// (with <see cref="Mac"/> empty) under a key derived from the repository master key. Whoever can write to the
/// bucket but does not hold the passphrase can therefore neither alter, reorder nor forge a record unnoticed.
/// </summary>
internal sealed record AuditRecord
{
    public const string SchemaName = "backupdr-audit-record";
    public const int CurrentSchemaVersion = 1;

    public string Schema { get; init; } = SchemaName;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required long Sequence { get; init; }
    public required DateTimeOffset At { get; init; }
    public required AuditEventKind Kind { get; init; }
    public required string Target { get; init; }
    public required string Subject { get; init; }

    /// <summary>Sorted by key, so the canonical JSON does not depend on insertion order.</summary>
    public required SortedDictionary<string, string> Details { get; init; }

    /// <summary>Who wrote it: host name and process id.</summary>
    public required string Actor { get; init; }

    /// <summary>The <see cref="Mac"/> of record <see cref="Sequence"/> - 1; empty for the first record.</summary>
    public required string Previous { get; init; }

    public string Mac { get; init; } = "";
}

internal static class AuditRecordSerializer
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static byte[] Serialize(AuditRecord record) => JsonSerializer.SerializeToUtf8Bytes(record, Options);

    /// <exception cref="InvalidDataException">Not an audit record of a version this build reads.</exception>
    public static AuditRecord Deserialize(ReadOnlySpan<byte> json)
    {
        AuditRecord? record;
        try
        {
            record = JsonSerializer.Deserialize<AuditRecord>(json, Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"not a valid audit record: {e.Message}", e);
        }

        if (record is null || record.Schema != AuditRecord.SchemaName)
        {
            throw new InvalidDataException("not an audit record");
        }

        if (record.SchemaVersion != AuditRecord.CurrentSchemaVersion)
        {
            throw new InvalidDataException($"audit record schema version {record.SchemaVersion} is not supported by this build (it reads {AuditRecord.CurrentSchemaVersion})");
        }

        return record;
    }

    /// <summary>HMAC-SHA256 of the record's canonical JSON with <see cref="AuditRecord.Mac"/> empty, lower-case hex.</summary>
    public static string ComputeMac(KeyMaterial key, AuditRecord record) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key.AsSpan(), Serialize(record with { Mac = "" })));

    public static bool HasValidMac(KeyMaterial key, AuditRecord record) =>
        CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(ComputeMac(key, record)),
            System.Text.Encoding.ASCII.GetBytes(record.Mac));
}
