using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BackupDr.Repository.Backups;

/// <summary>
/// The document that commits a backup (<c>manifest.json</c>, written last, create-only). It is the catalog entry:
/// what was backed up, when, from which server, and every object with its size and SHA-256. It holds no secret and
/// no business data (fingerprints and ledger totals live in the encrypted <c>evidence.json</c> object).
/// The manifest is sealed: the backup's data key is wrapped by the master key with the SHA-256 of the manifest's own
/// canonical form as associated data, so altering any field makes the data key unrecoverable and the backup is
/// reported as damaged instead of being restored.
/// </summary>
internal sealed record BackupManifest
{
    public const string SchemaName = "backupdr-backup-manifest";
    /// <summary>2 added <see cref="Filestore"/>; a version-1 manifest (no filestore) still reads and verifies.</summary>
    public const int CurrentSchemaVersion = 2;

    /// <summary>3: a PITR base backup (<see cref="Pitr"/>); dump backups keep writing version 2.</summary>
    public const int PitrSchemaVersion = 3;

    public string Schema { get; init; } = SchemaName;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string BackupId { get; init; }
    public required string Target { get; init; }
    public required string Tenant { get; init; }
    public required string Environment { get; init; }
    public required string Tier { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required DateTimeOffset CompletedAt { get; init; }

    /// <summary>The instant the dump's snapshot was taken: the data is consistent to it.</summary>
    public required DateTimeOffset RecoveryPoint { get; init; }

    public required ManifestSource Source { get; init; }
    public required ManifestTools Tools { get; init; }
    public required ManifestEncryption Encryption { get; init; }
    public required IReadOnlyList<ManifestObject> Objects { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The filestore half (schema 2); absent in manifests of backups taken before filestore backups existed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ManifestFilestore? Filestore { get; init; }

    /// <summary>The WAL positions of a PITR base backup (schema 3); absent in dump backups.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ManifestPitr? Pitr { get; init; }

    public ManifestObject Object(string name) =>
        Objects.FirstOrDefault(o => o.Name == name) ?? throw new InvalidDataException($"backup {BackupId} has no object '{name}'.");
}

/// <summary>
/// A base backup for point-in-time recovery (<c>pg_basebackup</c> as tar, WAL from the archive). It can restore any
/// moment from <see cref="BackupManifest.RecoveryPoint"/> (when the backup became consistent) on, as far as the WAL
/// archive reaches without a gap.
/// </summary>
/// <param name="Kind">Always <c>pitr-base</c>.</param>
/// <param name="StartLsn">The backup's start (its checkpoint's redo location): WAL is needed from here.</param>
/// <param name="EndLsn">Recovery must replay at least to here before the copy is consistent.</param>
/// <param name="Timeline">The source's timeline at the start.</param>
/// <param name="StartSegment">The WAL file holding <paramref name="StartLsn"/>.</param>
/// <param name="EndSegment">The WAL file holding <paramref name="EndLsn"/>.</param>
internal sealed record ManifestPitr(
    string Kind, string StartLsn, string EndLsn, uint Timeline, string StartSegment, string EndSegment, long WalSegmentSizeBytes, string SlotName)
{
    public const string BaseKind = "pitr-base";
}

/// <summary>The source server and database, without credentials.</summary>
internal sealed record ManifestSource(
    string Host, int Port, string Database, string ServerVersion, int ServerVersionNum, string? SystemIdentifier, string? OdooVersion);

internal sealed record ManifestTools(string BackupDr, string PgDump);

/// <param name="Algorithm">The object format, e.g. <c>AES-256-GCM-SEGMENTED-1MiB/zstd</c>.</param>
/// <param name="MasterKeyId">The repository master key that wraps the data key.</param>
/// <param name="WrappedDataKey">The backup's data key wrapped by the master key, sealed to this manifest.</param>
internal sealed record ManifestEncryption(string Algorithm, string MasterKeyId, string WrappedDataKey);

/// <param name="Name">Logical name, e.g. <c>database.dump</c>; also bound into the object's encryption.</param>
/// <param name="Key">The object key in the repository.</param>
/// <param name="SizeBytes">Stored (encrypted) size.</param>
/// <param name="Sha256">SHA-256 of the stored bytes, lower-case hex.</param>
/// <param name="PlainSizeBytes">Size before compression and encryption.</param>
internal sealed record ManifestObject(string Name, string Key, string Codec, long SizeBytes, string Sha256, long PlainSizeBytes);

/// <summary>
/// What the filestore half of a backup holds (the file list itself is in the encrypted <c>filestore.index</c>: a
/// file's name is its SHA-1, which the plaintext manifest must not reveal). Problem counts are damage found at the
/// source; their names are in the index and in the output of the backup command.
/// </summary>
/// <param name="Files">Files backed up (referenced ones, plus unreferenced ones when included).</param>
/// <param name="SizeBytes">Their total size.</param>
/// <param name="FilesRead">Files whose content was new and was read and uploaded by this backup.</param>
/// <param name="BytesRead">Their total size.</param>
/// <param name="PacksWritten">Packs this backup uploaded.</param>
/// <param name="UploadedBytes">Stored bytes of those packs and their tables of contents.</param>
/// <param name="Packs">Packs this backup's files live in (a restore reads each once).</param>
/// <param name="StoredBytes">Stored size of those packs.</param>
internal sealed record ManifestFilestore(
    long Files,
    long SizeBytes,
    long FilesRead,
    long BytesRead,
    int PacksWritten,
    long UploadedBytes,
    int Packs,
    long StoredBytes,
    long Missing,
    long ContentMismatch,
    long Unreadable,
    long UnsupportedName,
    long UnreferencedFiles,
    long UnreferencedBytes,
    bool UnreferencedIncluded)
{
    [JsonIgnore]
    public long Problems => Missing + ContentMismatch + Unreadable + UnsupportedName;
}

/// <summary>
/// The manifest's JSON, source-generated: the monthly report reads (and re-serializes, for the seal) every manifest of a
/// month, and reflection-based serialization cost several times more. Same options as the reflection serializer that
/// wrote the first manifests, so every stored manifest re-serializes to the same bytes (a test compares both).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(BackupManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;

internal static class BackupManifestSerializer
{
    public static byte[] Serialize(BackupManifest manifest) => JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJsonContext.Default.BackupManifest);

    /// <exception cref="InvalidDataException">Not a manifest, or a schema this version does not understand.</exception>
    public static BackupManifest Deserialize(ReadOnlySpan<byte> json, string source)
    {
        BackupManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, ManifestJsonContext.Default.BackupManifest);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not a valid backup manifest: {e.Message}", e);
        }

        if (manifest is null || manifest.Schema != BackupManifest.SchemaName)
        {
            throw new InvalidDataException($"{source} is not a backup manifest.");
        }

        if (manifest.SchemaVersion > BackupManifest.PitrSchemaVersion)
        {
            throw new InvalidDataException(
                $"{source} has manifest schema {manifest.SchemaVersion}, newer than this backupdr understands ({BackupManifest.PitrSchemaVersion}); upgrade backupdr.");
        }

        return manifest;
    }

    /// <summary>
    /// The associated data that seals the manifest: SHA-256 of its canonical JSON with the wrapped data key blanked.
    /// Reading and re-serializing a manifest yields the same bytes, so the seal can be checked after a round trip.
    /// </summary>
    public static string SealContext(BackupManifest manifest)
    {
        var unsealed = manifest with { Encryption = manifest.Encryption with { WrappedDataKey = "" } };
        var hash = SHA256.HashData(Serialize(unsealed));
        return $"backupdr-manifest-v1:{manifest.Target}/{manifest.BackupId}:{Convert.ToHexStringLower(hash)}";
    }
}
