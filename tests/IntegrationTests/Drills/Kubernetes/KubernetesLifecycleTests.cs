using System.Net;
using System.Text.Json.Nodes;
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
/// deletes its namespace, the janitor deletes expired sandbox namespaces only, and, given an Odoo image, the sandbox
/// runs Odoo on the restored copy and the Odoo probes pass through the port-forward.
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

    /// <summary>The Odoo image of the Odoo test, or null to skip it.</summary>
    protected abstract string? OdooImage { get; }

    /// <summary>
    /// Readies the cluster to run <see cref="OdooImage"/> for <paramref name="database"/> (the fake serves a
    /// <see cref="FakeOdooServer"/> as that image's pods; a real cluster pulls and runs the image). Disposed after the drill.
    /// </summary>
    protected virtual ValueTask<IAsyncDisposable?> ServeOdooAsync(string database) => ValueTask.FromResult<IAsyncDisposable?>(null);

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

    /// <summary>
    /// The scenario's configuration as a drill with a sandbox Odoo needs it to validate: Kubernetes sandboxes with
    /// <paramref name="image"/> as the Odoo image, and the target's Drill:Odoo without a URL (the sandbox serves it).
    /// </summary>
    protected async Task UseSandboxOdooAsync(string image)
    {
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Scenario.ConfigPath, Token))!;
        config["BackupDr"]!["Sandbox"] = new JsonObject
        {
            ["Kind"] = "Kubernetes",
            ["WorkPath"] = Scenario.SandboxPath,
            ["Kubernetes"] = new JsonObject
            {
                [nameof(Kubeconfig)] = Kubeconfig,
                ["PostgresImages"] = new JsonObject { [PostgresFixture.Major.ToString(System.Globalization.CultureInfo.InvariantCulture)] = PostgresImage },
                ["Odoo"] = new JsonObject { ["Image"] = image },
            },
        };
        config["BackupDr"]!["Targets"]![0]!["Drill"] = new JsonObject
        {
            ["Odoo"] = new JsonObject { ["Login"] = FakeOdooServer.Login, ["Password"] = FakeOdooServer.Password },
        };
        await File.WriteAllTextAsync(Scenario.ConfigPath, config.ToJsonString(), Token);
    }

    protected KubernetesSandboxOptions OdooOptions(string image) => Options(o => o with { Odoo = new KubernetesOdooOptions { Image = image } });

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
    public async Task Drill_WithOdooImage_StartsOdooOnTheCopyAndItsProbesPassThroughThePortForward()
    {
        Assert.SkipWhen(OdooImage is null, "no Odoo image for this cluster (BACKUPDR_TEST_ODOO_IMAGE)");
        var image = OdooImage!;
        await Scenario.BackupAsync();
        await UseSandboxOdooAsync(image);
        await using var odoo = await ServeOdooAsync(Scenario.Source.Name);
        using var inspector = Inspector();
        V1Deployment? deployment = null;
        IList<V1Service>? services = null;
        V1ResourceQuota? quota = null;
        IList<V1NetworkPolicy>? policies = null;
        string? baseUrl = null;
        var observer = new TestDrillObserver
        {
            OnSandboxReady = async (sandbox, database, ct) =>
            {
                await using (var connection = new NpgsqlConnection(sandbox.ConnectionString(database)))
                {
                    await connection.OpenAsync(ct);
                    await using var command = new NpgsqlCommand("SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'", connection);
                    baseUrl = (string?)await command.ExecuteScalarAsync(ct);
                }

                deployment = await inspector.AppsV1.ReadNamespacedDeploymentAsync(OdooManifests.Name, sandbox.Id, cancellationToken: ct);
                services = (await inspector.CoreV1.ListNamespacedServiceAsync(sandbox.Id, cancellationToken: ct)).Items;
                quota = await inspector.CoreV1.ReadNamespacedResourceQuotaAsync("sandbox", sandbox.Id, cancellationToken: ct);
                policies = (await inspector.NetworkingV1.ListNamespacedNetworkPolicyAsync(sandbox.Id, cancellationToken: ct)).Items;
            },
        };
        var options = OdooOptions(image);

        var record = await DrillHarness.RunAsync(Scenario, Provider(options), observer, Token);

        record.Outcome.ShouldBe(DrillOutcome.Passed, string.Join("; ", record.Reasons) + " " + record.Error + " " + string.Join(" | ", record.Sandbox.Diagnostics ?? []));
        var started = record.Phases.Single(p => p.Phase == DrillPhase.OdooStart);
        started.Status.ShouldBe(PhaseStatus.Completed);
        started.Detail!.ShouldContain($"{image} in pod {record.Sandbox.Id}/odoo-");
        record.Probes.Single(p => p.Name == "odoo-http").Status.ShouldBe(ProbeStatus.Passed);
        record.Probes.Single(p => p.Name == "odoo-xmlrpc").Status.ShouldBe(ProbeStatus.Passed);
        record.Probes.Single(p => p.Name == "odoo-xmlrpc").Details!.ShouldContain($"on '{Scenario.Source.Name}'");
        System.Text.Json.JsonSerializer.Serialize(record).ShouldNotContain(FakeOdooServer.Password);

        baseUrl.ShouldBe($"http://odoo.{record.Sandbox.Id}.svc:8069", "links in the copy point at the sandbox's own Odoo Service");
        var spec = deployment.ShouldNotBeNull().Spec;
        spec.Replicas.ShouldBe(1);
        spec.Strategy.Type.ShouldBe("Recreate");
        var pod = spec.Template.Spec;
        pod.SecurityContext.RunAsNonRoot.ShouldBe(true);
        pod.AutomountServiceAccountToken.ShouldBe(false);
        var container = pod.Containers.ShouldHaveSingleItem();
        container.Image.ShouldBe(image);
        container.SecurityContext.AllowPrivilegeEscalation.ShouldBe(false);
        container.SecurityContext.ReadOnlyRootFilesystem.ShouldBe(true);
        container.ReadinessProbe.HttpGet.Path.ShouldBe("/web/login");
        container.Args.ShouldContain($"--database={Scenario.Source.Name}");
        container.Args.ShouldContain("--max-cron-threads=0");
        container.Env.Single(e => e.Name == "HOST").Value.ShouldBe("postgres");
        container.Env.Single(e => e.Name == "USER").Value.ShouldBe("odoo");
        container.Env.Single(e => e.Name == "PASSWORD").ValueFrom.SecretKeyRef.Key.ShouldBe(OdooManifests.PasswordKey);
        container.Resources.Limits["memory"].ToInt64().ShouldBe(options.Odoo.MemoryBytes);
        services.ShouldNotBeNull().Select(s => s.Metadata.Name).ShouldBe(["odoo", "postgres"], ignoreOrder: true);
        services.ShouldAllBe(s => s.Spec.Type == "ClusterIP");
        var tier = new TierSandboxOptions();
        quota.ShouldNotBeNull().Spec.Hard["limits.memory"].ToInt64().ShouldBe(tier.MemoryBytes + options.Odoo.MemoryBytes);
        policies.ShouldNotBeNull().Select(p => p.Metadata.Name).ShouldBe(["allow-dns", "allow-repository-egress", "allow-same-namespace", "default-deny"], ignoreOrder: true);

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
