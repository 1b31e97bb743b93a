using System.Net;
using BackupDr.DrillRunner.Sandboxes;
using BackupDr.DrillRunner.Sandboxes.Kubernetes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.TestSupport;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BackupDr.IntegrationTests.Drills.Kubernetes;

/// <summary>
/// The Kubernetes sandbox lifecycle, written once and run against the in-process fake API server
/// (<see cref="FakeClusterDrillTests"/>) and, when <c>BACKUPDR_TEST_KUBECONFIG</c> names a kubeconfig, against a real
/// cluster (<see cref="RealClusterDrillTests"/>): a drill passes end to end through the sandbox, a cancelled drill
/// deletes its namespace, and the janitor deletes expired sandbox namespaces only.
/// </summary>
public abstract class KubernetesLifecycleTests(PostgresFixture postgres) : IAsyncLifetime
{
    private BackupScenario? _scenario;

    internal BackupScenario Scenario => _scenario ?? throw new InvalidOperationException("the scenario is made in InitializeAsync");

    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A kubeconfig the product uses.</summary>
    protected abstract string Kubeconfig { get; }

    /// <summary>A kubeconfig the test itself reads the cluster with (kept apart from the product's requests).</summary>
    protected abstract string InspectorKubeconfig { get; }

    protected abstract string PostgresImage { get; }

    /// <summary>The sandbox's clock (timeouts, expiry annotations).</summary>
    protected abstract TimeProvider SandboxTime { get; }

    public virtual async ValueTask InitializeAsync()
    {
        _scenario = await BackupScenario.CreateAsync(postgres, path => Task.FromResult(RepositorySetup.Local(path)), Token);
        await _scenario.RunJsonAsync("repo", "init");
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_scenario is not null)
        {
            await _scenario.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    protected KubernetesSandboxOptions Options(Func<KubernetesSandboxOptions, KubernetesSandboxOptions>? change = null)
    {
        var options = new KubernetesSandboxOptions
        {
            Kubeconfig = Kubeconfig,
            NamespacePrefix = "bdr-test",
            PostgresImages = new Dictionary<int, string> { [PostgresFixture.Major] = PostgresImage },
            ReadyTimeout = TimeSpan.FromMinutes(3),
            DeleteTimeout = TimeSpan.FromMinutes(3),
            RepositoryEgress = [new EgressRuleOptions { Cidrs = ["10.20.0.0/16"], Ports = [443] }],
        };
        return change is null ? options : change(options);
    }

    internal KubernetesSandboxProvider Provider(KubernetesSandboxOptions options) =>
        new(options, Scenario.SandboxPath, KubernetesConnection.Configuration(options), SandboxTime, NullLogger<KubernetesSandboxProvider>.Instance);

    internal KubernetesSandboxJanitor Janitor(KubernetesSandboxOptions options) =>
        new(options, KubernetesConnection.Configuration(options), SandboxTime, NullLogger<KubernetesSandboxJanitor>.Instance);

    protected IKubernetes Inspector() => new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(InspectorKubeconfig));

    protected static async Task<bool> NamespaceExistsAsync(IKubernetes client, string name)
    {
        try
        {
            await client.CoreV1.ReadNamespaceAsync(name, cancellationToken: Token);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    [Fact]
    public async Task Drill_KubernetesSandbox_RestoresProbesPassesAndDeletesItsNamespace()
    {
        await Scenario.BackupAsync();
        using var inspector = Inspector();
        string? seenNamespace = null;
        string? archiveMode = null;
        V1Namespace? ns = null;
        V1Pod? pod = null;
        IList<V1NetworkPolicy>? policies = null;
        var observer = new TestDrillObserver
        {
            OnSandboxReady = async (sandbox, database, ct) =>
            {
                seenNamespace = sandbox.Id;
                ns = await inspector.CoreV1.ReadNamespaceAsync(sandbox.Id, cancellationToken: ct);
                pod = await inspector.CoreV1.ReadNamespacedPodAsync(SandboxManifests.PodName, sandbox.Id, cancellationToken: ct);
                policies = (await inspector.NetworkingV1.ListNamespacedNetworkPolicyAsync(sandbox.Id, cancellationToken: ct)).Items;
                await using var connection = new NpgsqlConnection(sandbox.ConnectionString(database));
                await connection.OpenAsync(ct);
                await using var command = new NpgsqlCommand("SHOW archive_mode", connection);
                archiveMode = (string?)await command.ExecuteScalarAsync(ct);
            },
        };

        var record = await DrillHarness.RunAsync(Scenario, Provider(Options()), observer, Token);

        record.Outcome.ShouldBe(DrillOutcome.Passed, string.Join("; ", record.Reasons) + " " + record.Error);
        record.Sandbox.Kind.ShouldBe("kubernetes");
        record.Sandbox.Id.ShouldBe(seenNamespace);
        record.Sandbox.Id.ShouldStartWith("bdr-test-acme-prod-");
        record.Sandbox.Id.Length.ShouldBeLessThanOrEqualTo(63);
        record.Sandbox.ServerVersion.ShouldStartWith("15.");
        record.Sandbox.CleanupError.ShouldBeNull();
        record.Sandbox.Diagnostics.ShouldBeNull();
        record.Probes.ShouldAllBe(p => p.Status != ProbeStatus.Failed);
        record.Phases.Single(p => p.Phase == DrillPhase.Provision).Detail!.ShouldContain("port-forward on 127.0.0.1");
        archiveMode.ShouldBe("off");

        ns!.Metadata.Labels["app.kubernetes.io/managed-by"].ShouldBe("backupdr");
        ns.Metadata.Labels["backupdr.io/target"].ShouldBe(BackupScenario.Target);
        ns.Metadata.Labels["backupdr.io/tenant"].ShouldBe("acme");
        ns.Metadata.Labels["backupdr.io/drill-id"].ShouldBe(record.DrillId);
        SandboxNamespace.ParseTime(ns.Metadata.Annotations["backupdr.io/expires-at"]).ShouldNotBeNull().ShouldBeGreaterThan(SandboxTime.GetUtcNow());
        policies!.Select(p => p.Metadata.Name).ShouldBe(["allow-dns", "allow-repository-egress", "allow-same-namespace", "default-deny"], ignoreOrder: true);
        var deny = policies!.Single(p => p.Metadata.Name == "default-deny").Spec;
        deny.PolicyTypes.ShouldBe(["Ingress", "Egress"], ignoreOrder: true);
        (deny.Ingress ?? []).ShouldBeEmpty();
        (deny.Egress ?? []).ShouldBeEmpty();
        pod!.Spec.Containers[0].Args.ShouldContain("archive_mode=off");
        pod.Spec.SecurityContext.RunAsNonRoot.ShouldBe(true);
        pod.Spec.AutomountServiceAccountToken.ShouldBe(false);
        pod.Spec.Containers[0].Image.ShouldBe(PostgresImage);

        (await NamespaceExistsAsync(inspector, record.Sandbox.Id)).ShouldBeFalse("teardown waits until the namespace is gone");
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_CancelledDuringRestore_DeletesItsNamespace()
    {
        await Scenario.BackupAsync();
        using var inspector = Inspector();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var observer = new TestDrillObserver
        {
            OnPhaseStarted = phase =>
            {
                if (phase == DrillPhase.DatabaseRestore)
                {
                    cancel.Cancel();
                }
            },
        };

        await Should.ThrowAsync<OperationCanceledException>(() => DrillHarness.RunAsync(Scenario, Provider(Options()), observer, cancel.Token));

        observer.Started.ShouldContain(DrillPhase.DatabaseRestore);
        var left = await inspector.CoreV1.ListNamespaceAsync(labelSelector: $"backupdr.io/target={BackupScenario.Target}", cancellationToken: Token);
        left.Items.Where(n => n.Metadata.Name.StartsWith("bdr-test-", StringComparison.Ordinal)).ShouldBeEmpty();
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
    }

    [Fact]
    public async Task Janitor_ExpiredSandboxNamespaces_DeletedUnexpiredAndForeignKept()
    {
        using var inspector = Inspector();
        var now = SandboxTime.GetUtcNow();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        async Task<string> CreateAsync(string name, bool ours, DateTimeOffset? expiresAt)
        {
            var request = new SandboxRequest("20261123T000000000Z-" + suffix[..6], "acme-prod", 15) { Tenant = "acme" };
            var ns = SandboxManifests.Namespace(name, request, expiresAt ?? now);
            if (!ours)
            {
                ns.Metadata.Labels.Remove("app.kubernetes.io/managed-by");
            }

            if (expiresAt is null)
            {
                ns.Metadata.Annotations.Remove(SandboxNamespace.ExpiresAtAnnotation);
            }

            await inspector.CoreV1.CreateNamespaceAsync(ns, cancellationToken: Token);
            return name;
        }

        var expired = await CreateAsync($"bdr-test-expired-{suffix}", ours: true, now.AddMinutes(-1));
        var unexpired = await CreateAsync($"bdr-test-running-{suffix}", ours: true, now.AddHours(1));
        var foreignLabels = await CreateAsync($"bdr-test-foreign-{suffix}", ours: false, now.AddHours(-1));
        var otherPrefix = await CreateAsync($"other-app-{suffix}", ours: true, now.AddHours(-1));
        try
        {
            var report = await Janitor(Options()).SweepAsync(Token);

            report.Removed.ShouldBe([expired]);
            report.InUse.ShouldContain(unexpired);
            report.Removed.ShouldNotContain(foreignLabels);
            report.Removed.ShouldNotContain(otherPrefix);
            (await NamespaceExistsAsync(inspector, unexpired)).ShouldBeTrue();
            (await NamespaceExistsAsync(inspector, foreignLabels)).ShouldBeTrue();
            (await NamespaceExistsAsync(inspector, otherPrefix)).ShouldBeTrue();
            var deleted = await NamespaceExistsAsync(inspector, expired)
                ? (await inspector.CoreV1.ReadNamespaceAsync(expired, cancellationToken: Token)).Metadata.DeletionTimestamp is not null
                : true;
            deleted.ShouldBeTrue("the expired namespace is deleted (gone or Terminating)");
        }
        finally
        {
            foreach (var name in new[] { unexpired, foreignLabels, otherPrefix })
            {
                await KubernetesSandbox.DeleteNamespaceAsync(name, inspector, TimeSpan.FromMinutes(3), TimeProvider.System, Token);
            }
        }
    }
}
