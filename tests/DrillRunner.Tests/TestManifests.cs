using System.Globalization;
using BackupDr.DrillRunner.Probes;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Postgres;

namespace BackupDr.DrillRunner.Tests;

/// <summary>Manifests and probe contexts for tests that need no repository.</summary>
internal static class TestManifests
{
    public static BackupManifest At(DateTimeOffset recoveryPoint, string suffix = "aaaaaa", string? odooVersion = "17.0.1.3") => new()
    {
        BackupId = recoveryPoint.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture) + "-" + suffix,
        Target = "acme-prod",
        Tenant = "acme",
        Environment = "production",
        Tier = "gold",
        StartedAt = recoveryPoint,
        CompletedAt = recoveryPoint.AddMinutes(1),
        RecoveryPoint = recoveryPoint,
        Source = new ManifestSource("db", 5432, "acme", "15.4", 150004, "7300000000000000001", odooVersion),
        Tools = new ManifestTools("1.0.0", "pg_dump (PostgreSQL) 15.4"),
        Encryption = new ManifestEncryption("AES-256-GCM-SEGMENTED-1", "0000000000000000", ""),
        Objects = [],
    };

    public static ProbeContext Context(BackupManifest manifest, TargetOptions? target = null) =>
        new("Host=127.0.0.1;Database=acme", "acme", manifest, new DatabaseEvidenceRecord(manifest.Source.OdooVersion, [], [], []), null, "backup has no filestore",
            target ?? new TargetOptions { Name = "acme-prod" });
}
