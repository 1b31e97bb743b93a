using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Drills;

/// <summary>A drill record read from the repository, and whether its seal was checked.</summary>
/// <param name="SealChecked">False when no master key was at hand (a listing without the passphrase).</param>
internal sealed record StoredDrillRecord(DrillRecord Record, bool SealChecked);

/// <summary>
/// Writes, seals, reads and lists drill records. The seal is HMAC-SHA256 over the canonical JSON (seal value blank)
/// with a key derived by HKDF from the master key, so only a holder of the passphrase can write a record that
/// verifies, and an altered, truncated or moved record fails with <see cref="CorruptObjectException"/>.
/// </summary>
internal static class DrillRecords
{
    public const string SealAlgorithm = "HMAC-SHA256/HKDF-SHA256";
    private const int RecordMaxBytes = 4 << 20;
    private const string SealPurpose = "backupdr/drill-record-seal/v1";

    public static byte[] Serialize(DrillRecord record) => JsonSerializer.SerializeToUtf8Bytes(record, DrillRecordJsonContext.Default.DrillRecord);

    /// <summary>The record with its seal set.</summary>
    public static DrillRecord Seal(DrillRecord record, MasterKey masterKey) =>
        record with { Seal = new DrillSeal(SealAlgorithm, masterKey.KeyId, ComputeSeal(record, masterKey)) };

    /// <summary>Seals and stores the record, create-only: a drill id is written once.</summary>
    public static async Task<ObjectKey> WriteAsync(IObjectStore store, MasterKey masterKey, DrillRecord record, CancellationToken cancellationToken)
    {
        var key = RepositoryLayout.DrillRecord(record.Target, BackupId.Parse(record.DrillId));
        using var content = new MemoryStream(Serialize(Seal(record, masterKey)), writable: false);
        await store.PutAsync(key, content, PutOptions.CreateOnly, cancellationToken);
        return key;
    }

    /// <summary>The newest drill record of a target, or null; only that one is read (drill ids sort by time).</summary>
    public static async Task<DrillRecord?> LatestAsync(IObjectStore store, string target, MasterKey? masterKey, CancellationToken cancellationToken)
    {
        ObjectKey? newest = null;
        await foreach (var entry in store.ListAsync(RepositoryLayout.DrillsPrefix(target), cancellationToken))
        {
            if (RepositoryLayout.IsDrillRecord(entry.Key) && (newest is null || string.CompareOrdinal(entry.Key.Value, newest.Value.Value) > 0))
            {
                newest = entry.Key;
            }
        }

        return newest is { } key ? await ReadAsync(store, key, masterKey, cancellationToken) : null;
    }

    /// <summary>Every drill record of a target (or of all targets), newest first; seals are checked when a master key is given.</summary>
    public static async Task<IReadOnlyList<StoredDrillRecord>> ListAsync(
        IObjectStore store, string? target, MasterKey? masterKey, CancellationToken cancellationToken)
    {
        var prefix = target is null ? RepositoryLayout.TargetsPrefix : RepositoryLayout.DrillsPrefix(target);
        var records = new List<StoredDrillRecord>();
        await foreach (var entry in store.ListAsync(prefix, cancellationToken))
        {
            if (RepositoryLayout.IsDrillRecord(entry.Key))
            {
                records.Add(new StoredDrillRecord(await ReadAsync(store, entry.Key, masterKey, cancellationToken), masterKey is not null));
            }
        }

        return records
            .OrderByDescending(r => r.Record.DrillId, StringComparer.Ordinal)
            .ThenBy(r => r.Record.Target, StringComparer.Ordinal)
            .ToList();
    }

    /// <exception cref="CorruptObjectException">Not a drill record, stored under another name, or (with a master key) a seal that does not verify.</exception>
    public static async Task<DrillRecord> ReadAsync(IObjectStore store, ObjectKey key, MasterKey? masterKey, CancellationToken cancellationToken)
    {
        var bytes = await BackupCatalog.ReadSmallObjectAsync(store, key, RecordMaxBytes, "a drill record", cancellationToken);
        return Parse(bytes, key, masterKey);
    }

    /// <summary>A stored record's bytes, checked as <see cref="ReadAsync"/> checks them.</summary>
    /// <exception cref="CorruptObjectException">Not a drill record, stored under another name, or (with a master key) a seal that does not verify.</exception>
    public static DrillRecord Parse(ReadOnlySpan<byte> bytes, ObjectKey key, MasterKey? masterKey)
    {
        DrillRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(bytes, DrillRecordJsonContext.Default.DrillRecord);
        }
        catch (JsonException e)
        {
            throw new CorruptObjectException(key.Value, $"it is not a valid drill record: {e.Message}", e);
        }

        if (record is null || record.Schema != DrillRecord.SchemaName)
        {
            throw new CorruptObjectException(key.Value, "it is not a drill record");
        }

        if (record.SchemaVersion > DrillRecord.PitrSchemaVersion)
        {
            throw new CorruptObjectException(key.Value,
                $"drill record schema {record.SchemaVersion} is newer than this backupdr understands ({DrillRecord.PitrSchemaVersion}); upgrade backupdr");
        }

        if (!BackupId.TryParse(record.DrillId, out var id) || key != RepositoryLayout.DrillRecord(record.Target, id))
        {
            throw new CorruptObjectException(key.Value, $"it describes drill {record.Target}/{record.DrillId}, which belongs elsewhere");
        }

        if (masterKey is not null)
        {
            var expected = ComputeSeal(record, masterKey);
            if (record.Seal is null || record.Seal.MasterKeyId != masterKey.KeyId
                || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(record.Seal.Value), Encoding.ASCII.GetBytes(expected)))
            {
                throw new CorruptObjectException(key.Value, "its seal does not verify: the record was altered or not written by this repository's key");
            }
        }

        return record;
    }

    private static string ComputeSeal(DrillRecord record, MasterKey masterKey)
    {
        var unsealed = record with { Seal = new DrillSeal(SealAlgorithm, masterKey.KeyId, "") };
        using var sealKey = masterKey.DeriveKey(SealPurpose);
        return Convert.ToHexStringLower(HMACSHA256.HashData(sealKey.AsSpan(), Serialize(unsealed)));
    }
}

/// <summary>
/// The drill record's JSON, source-generated: the monthly report reads (and re-serializes, for the seal) a year of drill
/// records, and reflection-based serialization cost several times more. Same options as the reflection serializer that
/// wrote the first records (enums as strings), so every stored record re-serializes to the same bytes (a test compares both).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never, UseStringEnumConverter = true)]
[JsonSerializable(typeof(DrillRecord))]
internal sealed partial class DrillRecordJsonContext : JsonSerializerContext;
