using BackupDr.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.BackupWorker.Tests.Cli;

/// <summary>Runs the real CLI in-process with captured output and a given environment.</summary>
internal sealed class CliRunner : IDisposable
{
    public const string ValidConfig = """
    {
      "BackupDr": {
        "Repository": { "Kind": "Local", "Path": "/tmp/backupdr-tests/repository" },
        "Targets": [
          { "Name": "acme-prod", "Tenant": "acme", "Environment": "production", "Tier": "gold",
            "ConnectionString": "Host=db;Port=5432;Database=acme;Username=backup",
            "FilestorePath": "/var/lib/odoo/filestore/acme",
            "BackupSchedule": "0 0 1 * * ?", "DrillSchedule": "0 30 3 ? * SUN" }
        ],
        "Sandbox": { "Kind": "Local", "WorkPath": "/tmp/backupdr-tests/sandboxes" }
      }
    }
    """;

    private readonly string _folder = Directory.CreateTempSubdirectory("backupdr-cli-").FullName;

    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);

    public string WriteConfig(string json, string name = "config.json")
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, json);
        return path;
    }

    public Task<CliResult> RunAsync(params string[] args) => CliHarness.RunAsync(Variables, new FakeTimeProvider(), args);

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
