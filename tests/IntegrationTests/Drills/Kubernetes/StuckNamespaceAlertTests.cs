using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Alerts;
using BackupDr.BackupWorker.Cli;
using BackupDr.BackupWorker.Hosting;
using BackupDr.DrillRunner.Sandboxes;
using BackupDr.DrillRunner.Sandboxes.Kubernetes;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Configuration;
using BackupDr.TestSupport;
using BackupDr.TestSupport.Kubernetes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.IntegrationTests.Drills.Kubernetes;

/// <summary>
/// A sandbox namespace that will not go away, found by the worker's alerting round (which sweeps first) against the
/// fake API server: one "sandbox cleanup failed" incident for the namespace's target while it stays, resolved once a
/// sweep no longer finds it stuck. Time is a <see cref="FakeTimeProvider"/> shared by the fake and the worker.
/// </summary>
public sealed class StuckNamespaceAlertTests : IAsyncLifetime
{
    private const string Target = "acme-prod";
    private static readonly TimeSpan DeleteTimeout = TimeSpan.FromMinutes(3);

    private readonly FakeTimeProvider _time = new(TimeProvider.System.GetUtcNow());
    private readonly string _folder = Directory.CreateTempSubdirectory("backupdr-stuck-").FullName;
    private FakeKubernetesApi _api = null!;
    private BackupDrOptions _options = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync(_time, Token);
        var passphrase = Path.Combine(_folder, "passphrase");
        await File.WriteAllTextAsync(passphrase, "correct horse battery staple 42\n", Token);
        var config = new JsonObject
        {
            ["BackupDr"] = new JsonObject
            {
                ["Repository"] = new JsonObject { ["Kind"] = "Local", ["Path"] = Path.Combine(_folder, "repository"), ["PassphraseFile"] = passphrase },
                ["Targets"] = new JsonArray(new JsonObject
                {
                    ["Name"] = Target, ["Tenant"] = "acme", ["Environment"] = "production", ["Tier"] = "gold",
                    ["ConnectionString"] = "Host=localhost;Database=acme", ["FilestorePath"] = Path.Combine(_folder, "filestore"),
                    ["BackupSchedule"] = "0 0 1 * * ?",
                }),
                ["Sandbox"] = new JsonObject
                {
                    ["Kind"] = "Kubernetes",
                    ["WorkPath"] = Path.Combine(_folder, "sandboxes"),
                    ["Kubernetes"] = new JsonObject
                    {
                        ["Kubeconfig"] = _api.WriteKubeconfig(_folder),
                        ["NamespacePrefix"] = "bdr-test",
                        ["PostgresImages"] = new JsonObject { ["15"] = "postgres:15.8" },
                        ["DeleteTimeout"] = DeleteTimeout.ToString("c"),
                    },
                },
            },
        };
        var path = Path.Combine(_folder, "backupdr.json");
        await File.WriteAllTextAsync(path, config.ToJsonString(), Token);
        _options = BackupDrConfiguration.Load(CliConfiguration.Build(TestEnvironment.RepositoryRoot, path, new Dictionary<string, string>()));
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task AlertingRound_NamespaceStuckTerminatingPastDeleteTimeout_RaisesCleanupAlertOnceThenResolvesWhenItGoes()
    {
        _api.HoldNamespaceDeletion = true;
        var name = await CreateExpiredSandboxNamespaceAsync();
        await using var repository = new RepositoryAccess(_options, _time, NullLoggerFactory.Instance);
        using var alerts = new WorkerAlerts(_options, repository, _time, NullLoggerFactory.Instance);
        var log = new IncidentLog(repository.Store);

        // The sweep deletes the expired namespace; it stays Terminating, but not yet past the delete timeout: no alert.
        await alerts.EvaluateAllAsync(Token);
        (await log.ReadLatestAsync(Target, AlertRule.SandboxCleanupFailed, Token)).ShouldBeNull();
        _api.Objects("namespaces").ShouldHaveSingleItem()["status"]!["phase"]!.GetValue<string>().ShouldBe("Terminating");

        _time.Advance(DeleteTimeout + TimeSpan.FromSeconds(1));
        await alerts.EvaluateAllAsync(Token);
        var opened = (await log.ReadLatestAsync(Target, AlertRule.SandboxCleanupFailed, Token)).ShouldNotBeNull();
        opened.IsOpen.ShouldBeTrue();
        opened.Opened.Tenant.ShouldBe("acme");
        opened.Opened.Details.ShouldContain($"{name}: still Terminating since");
        opened.Opened.Details.ShouldContain("Sandbox:Kubernetes:DeleteTimeout 00:03:00");

        await alerts.EvaluateAllAsync(Token);
        (await log.ListAsync(Target, Token)).Where(i => i.Opened.Rule == AlertRule.SandboxCleanupFailed)
            .ShouldHaveSingleItem("one open incident per target and rule").Messages.Count.ShouldBe(1);

        await _api.ReleaseNamespacesAsync();
        await alerts.EvaluateAllAsync(Token);
        var resolved = (await log.ReadLatestAsync(Target, AlertRule.SandboxCleanupFailed, Token)).ShouldNotBeNull();
        resolved.Sequence.ShouldBe(opened.Sequence);
        resolved.IsOpen.ShouldBeFalse();
        _api.Objects("namespaces").ShouldBeEmpty();
    }

    [Fact]
    public async Task AlertingRound_DeleteOfExpiredNamespaceRefused_RaisesCleanupAlertThenResolvesOnceDeleted()
    {
        _api.Refuse("delete", "namespaces");
        var name = await CreateExpiredSandboxNamespaceAsync();
        await using var repository = new RepositoryAccess(_options, _time, NullLoggerFactory.Instance);
        using var alerts = new WorkerAlerts(_options, repository, _time, NullLoggerFactory.Instance);
        var log = new IncidentLog(repository.Store);

        await alerts.EvaluateAllAsync(Token);
        var opened = (await log.ReadLatestAsync(Target, AlertRule.SandboxCleanupFailed, Token)).ShouldNotBeNull();
        opened.IsOpen.ShouldBeTrue();
        opened.Opened.Details.ShouldContain($"{name}: could not be deleted");
        opened.Opened.Details.ShouldContain("forbidden");

        _api.Allow("delete", "namespaces");
        await alerts.EvaluateAllAsync(Token);
        (await log.ReadLatestAsync(Target, AlertRule.SandboxCleanupFailed, Token)).ShouldNotBeNull().IsOpen.ShouldBeFalse();
        _api.Objects("namespaces").ShouldBeEmpty();
    }

    [Fact]
    public async Task AlertingRound_ApiServerRefusesTheList_KeepsTheOpenIncident()
    {
        _api.Refuse("delete", "namespaces");
        await CreateExpiredSandboxNamespaceAsync();
        await using var repository = new RepositoryAccess(_options, _time, NullLoggerFactory.Instance);
        using var alerts = new WorkerAlerts(_options, repository, _time, NullLoggerFactory.Instance);
        var log = new IncidentLog(repository.Store);
        await alerts.EvaluateAllAsync(Token);

        _api.Refuse("list", "namespaces");
        await alerts.EvaluateAllAsync(Token);

        (await log.ReadLatestAsync(Target, AlertRule.SandboxCleanupFailed, Token)).ShouldNotBeNull().IsOpen
            .ShouldBeTrue("a sweep that could not see the namespaces cannot say they went");
    }

    private async Task<string> CreateExpiredSandboxNamespaceAsync()
    {
        using var inspector = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(_api.WriteKubeconfig(_folder, "inspector")));
        var request = new SandboxRequest("20261123T000000000Z-a1b2c3", Target, 15) { Tenant = "acme" };
        var name = SandboxNamespace.Name("bdr-test", Target, request.DrillId);
        await inspector.CoreV1.CreateNamespaceAsync(SandboxManifests.Namespace(name, request, _time.GetUtcNow().AddMinutes(-1)), cancellationToken: Token);
        return name;
    }
}
