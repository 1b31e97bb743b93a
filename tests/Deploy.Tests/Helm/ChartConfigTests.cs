using System.Text.Json.Nodes;
using BackupDr.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.Deploy.Tests.Helm;

/// <summary>
/// The ConfigMap the chart renders, read by the product's own configuration reader (`backupdr config check`) with the
/// secrets given the way the pod gets them: the passphrase as a mounted file, the rest as environment variables.
/// </summary>
public sealed class ChartConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("backupdr-chart-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ConfigCheck_FleetValuesWithTheirSecrets_Valid()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues);
        var environment = SecretValues(chart);

        var result = await ConfigCheckAsync(chart, environment);

        result.ExitCode.ShouldBe(0, result.ToString());
        var summary = result.Json;
        ((bool?)summary["valid"]).ShouldBe(true);
        foreach (var secret in environment.Values)
        {
            result.All.ShouldNotContain(secret);
        }
    }

    [Fact]
    public async Task ConfigCheck_DefaultValues_Valid()
    {
        var chart = await RenderedChart.RenderAsync();

        var result = await ConfigCheckAsync(chart, SecretValues(chart));

        result.ExitCode.ShouldBe(0, result.ToString());
    }

    [Fact]
    public async Task ConfigCheck_FleetWithoutTheSchedulerSecret_NamesTheMissingKey()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues);
        var environment = SecretValues(chart);
        environment.Remove("BackupDr__Scheduler__ConnectionString").ShouldBeTrue();

        var result = await ConfigCheckAsync(chart, environment);

        result.ExitCode.ShouldBe(2, result.ToString());
        result.All.ShouldContain("Scheduler:ConnectionString");
    }

    [Fact]
    public async Task SecretEnvironment_FleetValues_NamesTheConfigurationReaderExpects()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues,
            "--set", "secrets.targets[1].odooPasswordKey=odoo-password,secrets.azure.existingSecret=az");

        var env = chart.SecretEnvironment;

        env["AWS_ACCESS_KEY_ID"].ShouldBe(("backupdr-s3", "access-key-id"));
        env["AWS_SECRET_ACCESS_KEY"].ShouldBe(("backupdr-s3", "secret-access-key"));
        env["BackupDr__Repository__Azure__ConnectionString"].ShouldBe(("az", "connection-string"));
        env["BackupDr__Notifications__Email__Password"].ShouldBe(("backupdr-smtp", "password"));
        env["BackupDr__Notifications__Webhook__Url"].ShouldBe(("backupdr-webhook", "url"));
        env["BackupDr__Notifications__Webhook__Secret"].ShouldBe(("backupdr-webhook", "secret"));
        // Targets are found by name: globex-staging is index 1 of config.BackupDr.Targets.
        env["BackupDr__Targets__0__ConnectionString"].ShouldBe(("acme-prod-db", "connection-string"));
        env["BackupDr__Targets__1__ConnectionString"].ShouldBe(("globex-staging-db", "connection-string"));
        env["BackupDr__Targets__1__Drill__Odoo__Password"].ShouldBe(("globex-staging-db", "odoo-password"));
        var passphrase = chart.PodSpec["volumes"]!.AsArray().Single(v => (string)v!["name"]! == "passphrase")!;
        ((string?)passphrase["secret"]!["secretName"]).ShouldBe("backupdr-passphrase");
    }

    [Fact]
    public async Task ConfigMap_FleetValues_CarryTheSandboxOdooAndItsPasswordSecret()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues);

        var config = JsonNode.Parse(chart.ConfigJson)!["BackupDr"]!;

        ((string?)config["Sandbox"]!["Kubernetes"]!["Odoo"]!["Image"]).ShouldBe("odoo:17.0");
        ((string?)config["Sandbox"]!["Kubernetes"]!["Odoo"]!["Images"]!["16.0"]).ShouldBe("odoo:16.0", "the schema admits images by Odoo series");
        var odoo = config["Targets"]![0]!["Drill"]!["Odoo"]!.AsObject();
        odoo.ContainsKey("Url").ShouldBeFalse("the sandbox serves acme-prod's Odoo");
        odoo.ContainsKey("Password").ShouldBeFalse();
        chart.SecretEnvironment["BackupDr__Targets__0__Drill__Odoo__Password"].ShouldBe(("acme-prod-db", "odoo-password"));
    }

    [Fact]
    public async Task ConfigMap_ChartOwnedKeys_SetOverTheValues()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues,
            "--set", "config.BackupDr.Repository.PassphraseFile=/elsewhere,config.BackupDr.Scheduler.Clustered=false");

        var config = JsonNode.Parse(chart.ConfigJson)!["BackupDr"]!;

        ((string?)config["Repository"]!["PassphraseFile"]).ShouldBe("/etc/backupdr/passphrase/passphrase");
        config["Scheduler"]!["Clustered"]!.GetValue<bool>().ShouldBeTrue();
    }

    /// <summary>A plausible value for every secret the Deployment references, keyed by environment variable.</summary>
    private static Dictionary<string, string> SecretValues(RenderedChart chart) =>
        chart.SecretEnvironment.Keys.ToDictionary(name => name, name => name switch
        {
            _ when name.EndsWith("ConnectionString", StringComparison.Ordinal) && name.Contains("Azure", StringComparison.Ordinal) =>
                "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0LWF6dXJlLWtleQ==;EndpointSuffix=core.windows.net",
            _ when name.EndsWith("ConnectionString", StringComparison.Ordinal) =>
                $"Host=db-{name.Length}.example;Port=5432;Database=d{name.Length};Username=backup;Password=pw-{Guid.NewGuid():N}",
            "BackupDr__Notifications__Webhook__Url" => $"https://hooks.example.com/services/{Guid.NewGuid():N}",
            _ => $"secret-{Guid.NewGuid():N}",
        });

    /// <summary>`backupdr config check --json` on the rendered file, with the passphrase mount mapped to a temp folder.</summary>
    private async Task<CliResult> ConfigCheckAsync(RenderedChart chart, IReadOnlyDictionary<string, string> environment)
    {
        var config = JsonNode.Parse(chart.ConfigJson)!;
        var repository = config["BackupDr"]!["Repository"]!;
        var mounted = (string)repository["PassphraseFile"]!;
        mounted.ShouldStartWith("/etc/backupdr/passphrase/");
        var passphraseFile = Path.Combine(_directory, Path.GetFileName(mounted));
        await File.WriteAllTextAsync(passphraseFile, "correct horse battery staple\n", TestContext.Current.CancellationToken);
        repository["PassphraseFile"] = passphraseFile;
        var path = Path.Combine(_directory, "appsettings.json");
        await File.WriteAllTextAsync(path, config.ToJsonString(), TestContext.Current.CancellationToken);
        return await CliHarness.RunAsync(environment, new FakeTimeProvider(), "config", "check", "--json", "--config", path);
    }
}
