using System.Text.Json;
using System.Text.Json.Serialization;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Drills;

namespace BackupDr.Repository.Tests.Drills;

/// <summary>
/// Manifests and drill records are sealed over their re-serialized JSON, so the source-generated serializers must write
/// exactly the bytes the reflection-based ones (which wrote the first repositories) write, or every stored seal breaks.
/// </summary>
public sealed class SourceGeneratedJsonTests
{
    private static readonly JsonSerializerOptions ManifestReflection = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private static readonly JsonSerializerOptions DrillRecordReflection = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter() },
    };

    private static BackupManifest Manifest(ManifestFilestore? filestore) => new()
    {
        BackupId = "20261123T010000000Z-aaaaaa",
        Target = "acme-prod",
        Tenant = "acme",
        Environment = "production",
        Tier = "gold",
        StartedAt = new DateTimeOffset(2026, 11, 23, 1, 0, 0, TimeSpan.Zero),
        CompletedAt = new DateTimeOffset(2026, 11, 23, 1, 4, 0, TimeSpan.Zero),
        RecoveryPoint = new DateTimeOffset(2026, 11, 23, 1, 0, 1, 250, TimeSpan.Zero),
        Source = new ManifestSource("db \"main\"", 5432, "acme", "15.18", 150018, "7301234567890123456", "17.0"),
        Tools = new ManifestTools("1.0.0", "pg_dump (PostgreSQL) 15.18"),
        Encryption = new ManifestEncryption("AES-256-GCM-SEGMENTED-1", "mk-1", "dk1.mk-1.abc+/="),
        Objects = [new ManifestObject("database.dump", "targets/acme-prod/backups/20261123T010000000Z-aaaaaa/database.dump.zst.aesgcm", "zstd", 10, new string('0', 64), 60)],
        Filestore = filestore,
    };

    [Fact]
    public void ManifestSerializer_WithAndWithoutFilestore_WritesTheReflectionSerializersBytes()
    {
        var withFilestore = Manifest(null) with
        {
            Filestore = new ManifestFilestore(3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, true),
        };

        foreach (var manifest in new[] { Manifest(null), withFilestore })
        {
            BackupManifestSerializer.Serialize(manifest).ShouldBe(JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestReflection));
            var read = BackupManifestSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestReflection), "test");
            BackupManifestSerializer.Serialize(read).ShouldBe(JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestReflection));
        }
    }

    [Fact]
    public void DrillRecordSerializer_FullRecord_WritesTheReflectionSerializersBytes()
    {
        var record = DrillRecordsTests.Record("20261123T033000000Z-bbbbbb") with
        {
            Outcome = DrillOutcome.PartiallyFailed,
            Reasons = ["achieved RPO 02:30:00 exceeds the tier's 01:00:00", "quote \" and <tag> & é"],
            Error = null,
            SelectionReason = "sampled",
            Seal = new DrillSeal("HMAC-SHA256/HKDF-SHA256", "mk-1", new string('f', 64)),
        };

        var expected = JsonSerializer.SerializeToUtf8Bytes(record, DrillRecordReflection);

        DrillRecords.Serialize(record).ShouldBe(expected);
        DrillRecords.Serialize(JsonSerializer.Deserialize<DrillRecord>(expected, DrillRecordReflection)!).ShouldBe(expected);
    }
}
