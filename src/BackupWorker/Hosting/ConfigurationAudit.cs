using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;

namespace BackupDr.BackupWorker.Hosting;

/// <summary>
/// Records a ConfigurationChanged audit record when a worker starts with a configuration other than the last one
/// recorded. The fingerprint is the SHA-256 of the configuration as <c>config check</c> prints it, secrets masked, so
/// no secret reaches the trail (a rotated password alone is not a change here). The last fingerprint is kept in
/// <c>service/configuration/current.txt</c>; two replicas starting together with a new configuration may both record it.
/// </summary>
internal static class ConfigurationAudit
{
    private static readonly ObjectKey Current = ObjectKey.Parse("service/configuration/current.txt");

    /// <returns>True when a record was appended.</returns>
    public static async Task<bool> RecordIfChangedAsync(BackupRepository repository, BackupDrOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ConfigurationDisplay.ToJson(options).ToJsonString())));
        var previous = "";
        if (await repository.Store.StatAsync(Current, cancellationToken) is not null)
        {
            previous = Encoding.UTF8.GetString(await BackupCatalog.ReadSmallObjectAsync(repository.Store, Current, 1024, "a configuration fingerprint", cancellationToken)).Trim();
        }

        if (previous == fingerprint)
        {
            return false;
        }

        using (var trail = new AuditTrail(repository.Store, repository.MasterKey, time))
        {
            await trail.AppendAsync(
                new AuditEntry(AuditEventKind.ConfigurationChanged, "", fingerprint, new Dictionary<string, string>
                {
                    ["previous"] = previous.Length > 0 ? previous : "none",
                    ["targets"] = options.Targets.Count.ToString(CultureInfo.InvariantCulture),
                    ["tiers"] = string.Join(",", options.Tiers.Keys.Order(StringComparer.Ordinal)),
                }),
                cancellationToken);
        }

        using var body = new MemoryStream(Encoding.UTF8.GetBytes(fingerprint), writable: false);
        await repository.Store.PutAsync(Current, body, PutOptions.Default, cancellationToken);
        return true;
    }
}
