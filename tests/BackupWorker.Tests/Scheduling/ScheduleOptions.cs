using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Configuration;

namespace BackupDr.BackupWorker.Tests.Scheduling;

/// <summary>Validated options from flat keys (the way environment variables write them), with a gold tier.</summary>
internal static class ScheduleOptions
{
    public static BackupDrOptions Load(params (string Key, string Value)[] settings) => BackupDrConfiguration.Load(Build(settings));

    public static IReadOnlyList<ConfigurationError> Errors(params (string Key, string Value)[] settings) => BackupDrConfiguration.TryLoad(Build(settings)).Errors;

    private static IConfiguration Build((string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["BackupDr:Repository:Path"] = "/tmp/backupdr-tests/repository",
            ["BackupDr:Sandbox:WorkPath"] = "/tmp/backupdr-tests/sandboxes",
            ["BackupDr:Tiers:gold:Rto"] = "01:00:00",
            ["BackupDr:Tiers:gold:Rpo"] = "01:00:00",
            ["BackupDr:Tiers:gold:DrillEvery"] = "7.00:00:00",
            ["BackupDr:Tiers:gold:Retention:Daily"] = "7",
            ["BackupDr:Targets:0:Name"] = "acme-prod",
            ["BackupDr:Targets:0:Tenant"] = "acme",
            ["BackupDr:Targets:0:Environment"] = "production",
            ["BackupDr:Targets:0:Tier"] = "gold",
            ["BackupDr:Targets:0:ConnectionString"] = "Host=db;Database=acme;Username=backup",
            ["BackupDr:Targets:0:FilestorePath"] = "/var/lib/odoo/filestore/acme",
            ["BackupDr:Targets:0:BackupSchedule"] = "0 0 1 * * ?",
        };
        foreach (var (key, value) in settings)
        {
            values["BackupDr:" + key] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }
}
