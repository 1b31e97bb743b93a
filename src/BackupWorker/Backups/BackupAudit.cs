using System.Globalization;
using System.Security.Cryptography;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;

namespace BackupDr.BackupWorker.Backups;

/// <summary>
/// Appends the BackupCreated record of a committed backup to the audit trail (the manifest's SHA-256, sizes, recovery
/// point). Called right after the commit by <c>backupdr backup</c> and the scheduled backup; a failure here leaves
/// the backup committed and is reported as such, so that <c>audit verify</c> can be run.
/// </summary>
internal static class BackupAudit
{
    public static async Task RecordAsync(BackupRepository repository, BackupManifest manifest, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(manifest);
        try
        {
            using var trail = new AuditTrail(repository.Store, repository.MasterKey, time);
            await trail.AppendAsync(
                new AuditEntry(AuditEventKind.BackupCreated, manifest.Target, manifest.BackupId, new Dictionary<string, string>
                {
                    ["manifestSha256"] = Convert.ToHexStringLower(SHA256.HashData(BackupManifestSerializer.Serialize(manifest))),
                    ["recoveryPoint"] = manifest.RecoveryPoint.ToString("O", CultureInfo.InvariantCulture),
                    ["storedBytes"] = manifest.Objects.Sum(o => o.SizeBytes).ToString(CultureInfo.InvariantCulture),
                }),
                cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not swallowed: rethrown with what is true about the backup.
            throw new InvalidOperationException(
                $"backup {manifest.Target}/{manifest.BackupId} is committed, but its audit record could not be written ({e.Message}); run 'backupdr audit verify'", e);
        }
    }
}
