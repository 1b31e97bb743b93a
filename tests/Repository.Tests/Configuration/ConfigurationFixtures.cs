using System.Text;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Configuration;

namespace BackupDr.Repository.Tests.Configuration;

/// <summary>Builds configurations from JSON text, the way appsettings.json and --config files are read.</summary>
internal static class ConfigurationFixtures
{
    public const string ValidJson = """
    {
      "BackupDr": {
        "Repository": { "Kind": "Local", "Path": "/var/lib/backupdr/repository" },
        "Tiers": {
          "gold": { "Rto": "01:00:00", "Rpo": "01:00:00", "DrillEvery": "7.00:00:00",
                    "Retention": { "Daily": 14, "Weekly": 8, "Monthly": 12 } }
        },
        "Targets": [
          { "Name": "acme-prod", "Tenant": "acme", "Environment": "production", "Tier": "gold",
            "ConnectionString": "Host=db;Port=5432;Database=acme;Username=backup",
            "FilestorePath": "/var/lib/odoo/filestore/acme",
            "BackupSchedule": "0 0 1 * * ?", "DrillSchedule": "0 30 3 ? * SUN" }
        ],
        "Sandbox": { "Kind": "Local", "WorkPath": "/var/lib/backupdr/sandboxes" },
        "Http": { "Port": 8080 },
        "Notifications": {
          "Email": { "Host": "", "Port": 587, "UseTls": true, "From": "", "OnCall": [], "Reports": [] },
          "Webhook": { "Url": "" }
        }
      }
    }
    """;

    public static IConfiguration Build(string json, IDictionary<string, string?>? overrides = null)
    {
        var builder = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        if (overrides is not null)
        {
            builder.AddInMemoryCollection(overrides);
        }

        return builder.Build();
    }

    public static IReadOnlyList<ConfigurationError> Errors(IDictionary<string, string?> overrides) =>
        BackupDrConfiguration.TryLoad(Build(ValidJson, overrides)).Errors;
}
