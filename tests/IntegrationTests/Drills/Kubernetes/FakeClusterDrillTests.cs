using System.Text.Json.Nodes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.DrillRunner.Sandboxes.Kubernetes;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.TestSupport;
using BackupDr.TestSupport.Kubernetes;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.IntegrationTests.Drills.Kubernetes;

/// <summary>
/// The lifecycle suite against the in-process fake API server, plus what only a fake can make happen: a refusal at each
/// step, a pod that never becomes ready, cannot pull its image or crashes, a port-forward that fails, a namespace stuck
/// Terminating, an Odoo image that cannot be pulled or never becomes ready. Timeouts run on a
/// <see cref="FakeTimeProvider"/> advanced once the fake says the sandbox is waiting. The sandbox's Odoo pods are a
/// <see cref="FakeOdooServer"/> behind the fake's port-forward, so the Odoo probes really go through the bridge.
/// </summary>
public sealed class FakeClusterDrillTests(PostgresFixture postgres) : KubernetesLifecycleTests(postgres)
{
    private readonly FakeTimeProvider _time = new(TimeProvider.System.GetUtcNow());
    private FakeKubernetesApi? _api;
    private string _kubeconfig = "";
    private string _inspector = "";
    private FakeOdooServer? _odoo;

    private FakeKubernetesApi Api => _api ?? throw new InvalidOperationException("the API server starts in InitializeAsync");

    protected override string Kubeconfig => _kubeconfig;

    protected override string InspectorKubeconfig => _inspector;

    protected override string PostgresImage => "postgres:15.8";

    protected override string? OdooImage => "odoo:17.0";

    protected override ValueTask<IAsyncDisposable?> ServeOdooAsync(string database)
    {
        _odoo = new FakeOdooServer(database: database);
        Api.Kubelet.Serve(OdooImage!, _odoo.Port);
        return ValueTask.FromResult<IAsyncDisposable?>(_odoo);
    }

    protected override TimeProvider SandboxTime => _time;

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _api = await FakeKubernetesApi.StartAsync(_time, Token);
        _kubeconfig = _api.WriteKubeconfig(Scenario.Folder);
        _inspector = _api.WriteKubeconfig(Scenario.Folder, "inspector");
    }

    public override async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    private IReadOnlyList<ServedRequest> ProductRequests => Api.Served.Where(r => r.User == "fake-token").ToList();

    [Fact]
    public async Task Drill_WholeLifecycle_UsesOnlyTheDeclaredPermissions()
    {
        await Drill_KubernetesSandbox_RestoresProbesPassesAndDeletesItsNamespace();
        await Janitor(Options()).SweepAsync(Token);

        var used = ProductRequests.Select(r => (r.Group, r.Resource, r.Verb)).Distinct().ToList();
        used.ShouldContain(("", "pods/portforward", "create"));
        used.ShouldContain(("", "namespaces", "delete"));
        used.Where(u => !KubernetesSandboxPermissions.Allows(u.Group, u.Resource, u.Verb)).ShouldBeEmpty();
        KubernetesSandboxPermissions.Required.ShouldAllBe(p => !p.Verbs.Contains("*") && p.Resource != "*");
    }

    [Fact]
    public async Task Drill_OdooLifecycle_ReachesTheOdooPodAndUsesOnlyTheDeclaredPermissions()
    {
        await Drill_WithOdooImage_StartsOdooOnTheCopyAndItsProbesPassThroughThePortForward();

        // The probes were given no URL of the fake Odoo server: what it received came through the port-forward.
        _odoo.ShouldNotBeNull().Requests.ShouldContain(r => r.Contains("<methodName>authenticate</methodName>", StringComparison.Ordinal));
        var used = ProductRequests.Select(r => (r.Group, r.Resource, r.Verb)).Distinct().ToList();
        used.ShouldContain(("apps", "deployments", "create"));
        used.ShouldContain(("", "services", "create"));
        used.Where(u => !KubernetesSandboxPermissions.Allows(u.Group, u.Resource, u.Verb)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_OdooImageCannotBePulled_FailsNamingTheImageWithItsEventsAndDeletesTheNamespace()
    {
        const string Image = "registry.example.com/odoo:17.0-missing";
        await Scenario.BackupAsync();
        await UseSandboxOdooAsync(Image);
        Api.Kubelet.ScriptFor(Image, PodScript.ImagePullBackOff);

        var record = await DrillHarness.RunAsync(Scenario, Provider(OdooOptions(Image)), null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        var error = record.Error.ShouldNotBeNull();
        error.ShouldContain($"the Odoo server (image {Image}) did not start");
        error.ShouldContain($"container odoo is waiting (ImagePullBackOff: Back-off pulling image \"{Image}\")");
        record.Phases.Single(p => p.Phase == DrillPhase.OdooStart).Status.ShouldBe(PhaseStatus.Failed);
        record.Phases.Single(p => p.Phase == DrillPhase.Provision).Status.ShouldBe(PhaseStatus.Completed);
        var diagnostics = record.Sandbox.Diagnostics.ShouldNotBeNull();
        var all = string.Join(Environment.NewLine, diagnostics);
        diagnostics.ShouldContain(l => l.Contains($"Failed to pull image \"{Image}\"", StringComparison.Ordinal), all);
        diagnostics.ShouldContain(l => l.Contains("Error: ErrImagePull", StringComparison.Ordinal), all);
        diagnostics.ShouldContain(l => l.StartsWith("deployment odoo: 0/1 ready", StringComparison.Ordinal), all);
        diagnostics.ShouldContain(l => l.StartsWith("log: none (HTTP 400: container \"odoo\"", StringComparison.Ordinal), all);
        record.Probes.ShouldNotContain(p => p.Name == "odoo-http" && p.Status == ProbeStatus.Passed);
        Api.Objects("namespaces").ShouldBeEmpty();
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_OdooNeverReady_TimesOutWithItsReadinessEventsAndLogsInTheRecord()
    {
        await Scenario.BackupAsync();
        await UseSandboxOdooAsync(OdooImage!);
        Api.Kubelet.ScriptFor(OdooImage!, PodScript.NeverReady);
        var options = OdooOptions(OdooImage!);

        var drill = DrillHarness.RunAsync(Scenario, Provider(options), null, Token);
        await Api.WhenWatched("pods", labelSelector: OdooManifests.PodSelector).WaitAsync(Token);
        _time.Advance(options.ReadyTimeout + TimeSpan.FromSeconds(1));
        var record = await drill;

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Error.ShouldNotBeNull().ShouldContain("the Odoo pod (image odoo:17.0) was not ready after 00:03:00 (Sandbox:Kubernetes:ReadyTimeout)");
        var diagnostics = record.Sandbox.Diagnostics.ShouldNotBeNull();
        var all = string.Join(Environment.NewLine, diagnostics);
        diagnostics.ShouldContain(l => l.Contains("Readiness probe failed: HTTP probe failed with statuscode: 500", StringComparison.Ordinal), all);
        diagnostics.ShouldContain("log: ERROR ? odoo.http: Exception during request handling.", all);
        diagnostics.ShouldContain(l => l.StartsWith("pod odoo-", StringComparison.Ordinal) && l.Contains("phase Running", StringComparison.Ordinal), all);
        Api.Objects("namespaces").ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_CancelledWhileWaitingForOdoo_DeletesItsNamespace()
    {
        await Scenario.BackupAsync();
        await UseSandboxOdooAsync(OdooImage!);
        Api.Kubelet.ScriptFor(OdooImage!, PodScript.NeverReady);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);

        var drill = DrillHarness.RunAsync(Scenario, Provider(OdooOptions(OdooImage!)), null, cancel.Token);
        await Api.WhenWatched("pods", labelSelector: OdooManifests.PodSelector).WaitAsync(Token);
        await cancel.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => drill);
        ProductRequests.ShouldContain(r => r.Verb == "create" && r.Resource == "deployments");
        Api.Objects("namespaces").ShouldBeEmpty();
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
    }

    [Fact]
    public async Task Cli_DrillWithSandboxKindKubernetes_PassesThroughTheCluster()
    {
        await Scenario.BackupAsync();
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Scenario.ConfigPath, Token))!;
        config["BackupDr"]!["Sandbox"] = new JsonObject
        {
            ["Kind"] = "Kubernetes",
            ["WorkPath"] = Scenario.SandboxPath,
            ["Kubernetes"] = new JsonObject { [nameof(Kubeconfig)] = Kubeconfig, ["PostgresImages"] = new JsonObject { ["15"] = PostgresImage } },
        };
        await File.WriteAllTextAsync(Scenario.ConfigPath, config.ToJsonString(), Token);

        var result = await Scenario.RunAsync("drill", "--target", BackupScenario.Target, "--json");

        result.ExitCode.ShouldBe(0, result.ToString());
        result.Json["outcome"]!.GetValue<string>().ShouldBe("Passed");
        result.Json["sandbox"]!["kind"]!.GetValue<string>().ShouldBe("kubernetes");
        result.Json["sandbox"]!["id"]!.GetValue<string>().ShouldStartWith("backupdr-drill-acme-prod-");
        Api.Objects("namespaces").ShouldBeEmpty();
        ProductRequests.ShouldContain(r => r.Verb == "list" && r.Resource == "namespaces", "the janitor sweeps before the drill");
    }

    [Fact]
    public async Task Drill_NamespaceCreationRefused_FailsProvisionAndLeavesNothing()
    {
        await Scenario.BackupAsync();
        Api.Refuse("create", "namespaces");

        var record = await DrillHarness.RunAsync(Scenario, Provider(Options()), null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Phases.Single(p => p.Phase == DrillPhase.Provision).Status.ShouldBe(PhaseStatus.Failed);
        record.Error.ShouldNotBeNull().ShouldContain("creating the namespace was refused (HTTP 403: namespaces is forbidden");
        record.Sandbox.CleanupError.ShouldBeNull();
        Api.Objects("namespaces").ShouldBeEmpty();
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_QuotaRefused_FailsProvisionNamingTheQuotaAndDeletesTheNamespace()
    {
        await Scenario.BackupAsync();
        Api.Refuse("create", "resourcequotas", 422, "resourcequotas \"sandbox\" is invalid: spec.hard[requests.cpu]: must be less than or equal to the cluster's limit");

        var record = await DrillHarness.RunAsync(Scenario, Provider(Options()), null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Error.ShouldNotBeNull().ShouldContain("creating the resource quota was refused (HTTP 422: resourcequotas \"sandbox\" is invalid");
        Api.Objects("namespaces").ShouldBeEmpty();
        Api.Objects("networkpolicies").ShouldBeEmpty();
        ProductRequests.ShouldContain(r => r.Verb == "delete" && r.Resource == "namespaces");
    }

    [Fact]
    public async Task Drill_PodNeverScheduled_TimesOutWithEventsInTheRecord()
    {
        await Scenario.BackupAsync();
        Api.Kubelet.Script = PodScript.NeverScheduled;
        var options = Options();

        var drill = DrillHarness.RunAsync(Scenario, Provider(options), null, Token);
        await Api.WhenWatched("pods", SandboxManifests.PodName).WaitAsync(Token);
        _time.Advance(options.ReadyTimeout + TimeSpan.FromSeconds(1));
        var record = await drill;

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Error.ShouldNotBeNull().ShouldContain("the PostgreSQL pod was not ready after 00:03:00 (Sandbox:Kubernetes:ReadyTimeout)");
        var diagnostics = record.Sandbox.Diagnostics.ShouldNotBeNull();
        diagnostics.ShouldContain(l => l.Contains("FailedScheduling", StringComparison.Ordinal) && l.Contains("3 Insufficient memory", StringComparison.Ordinal));
        diagnostics.ShouldContain(l => l.StartsWith("log: none (HTTP 400: container \"postgres\" in pod \"postgres\" is waiting to start", StringComparison.Ordinal), string.Join(Environment.NewLine, diagnostics));
        Api.Objects("namespaces").ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_ImageCannotBePulled_FailsWithoutWaitingForTheTimeout()
    {
        await Scenario.BackupAsync();
        Api.Kubelet.Script = PodScript.ImagePullBackOff;

        var record = await DrillHarness.RunAsync(Scenario, Provider(Options()), null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Error.ShouldNotBeNull().ShouldContain("container postgres is waiting (ImagePullBackOff: Back-off pulling image \"postgres:15.8\")");
        record.Sandbox.Diagnostics.ShouldNotBeNull().ShouldContain(l => l.Contains("manifest unknown", StringComparison.Ordinal));
        Api.Objects("namespaces").ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_PodCrashesOnStart_RecordHoldsItsLastLogLines()
    {
        await Scenario.BackupAsync();
        Api.Kubelet.Script = PodScript.CrashOnStart;

        var record = await DrillHarness.RunAsync(Scenario, Provider(Options()), null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Error.ShouldNotBeNull().ShouldContain("pod postgres ended (Failed)");
        var diagnostics = record.Sandbox.Diagnostics.ShouldNotBeNull();
        diagnostics.ShouldContain("log: FATAL:  data directory \"/var/lib/postgresql/data/pgdata\" has invalid permissions");
        diagnostics.ShouldContain("log: DETAIL: (left out of the record: it may quote the restored data)");
        diagnostics.ShouldNotContain(l => l.Contains("ACME Finance", StringComparison.Ordinal));
        Api.Objects("namespaces").ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_PodCrashesDuringRestore_FailsWithThePodsStateAndLogs()
    {
        await Scenario.BackupAsync();
        var observer = new TestDrillObserver
        {
            OnSandboxReady = async (sandbox, _, _) => await Api.Kubelet.CrashAsync(sandbox.Id, SandboxManifests.PodName),
        };

        var record = await DrillHarness.RunAsync(Scenario, Provider(Options()), observer, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        var diagnostics = record.Sandbox.Diagnostics.ShouldNotBeNull();
        diagnostics.ShouldContain(l => l.StartsWith("pod postgres: phase Failed", StringComparison.Ordinal));
        diagnostics.ShouldContain("log: FATAL:  terminating connection due to administrator command");
        Api.Objects("namespaces").ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_PortForwardFails_FailsProvisionWithTheForwardError()
    {
        await Scenario.BackupAsync();
        Api.Kubelet.FailPortForward = true;

        var record = await DrillHarness.RunAsync(Scenario, Provider(Options()), null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Phases.Single(p => p.Phase == DrillPhase.Provision).Status.ShouldBe(PhaseStatus.Failed);
        record.Error.ShouldNotBeNull().ShouldContain("cannot be reached through the port-forward");
        record.Error.ShouldContain("connect: connection refused");
        record.Sandbox.Diagnostics.ShouldNotBeNull().ShouldContain(l => l.StartsWith("port-forward: ", StringComparison.Ordinal));
        Api.Objects("namespaces").ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_NamespaceStuckTerminating_RecordsTheCleanupFailure()
    {
        await Scenario.BackupAsync();
        Api.HoldNamespaceDeletion = true;
        var options = Options();
        var restored = new TaskCompletionSource();
        var observer = new TestDrillObserver
        {
            OnSandboxReady = (_, _, _) =>
            {
                restored.SetResult();
                return Task.CompletedTask;
            },
        };

        var drill = DrillHarness.RunAsync(Scenario, Provider(options), observer, Token);
        await restored.Task.WaitAsync(Token);
        await Api.WhenWatched("namespaces").WaitAsync(Token);
        _time.Advance(options.DeleteTimeout + TimeSpan.FromSeconds(1));
        var record = await drill;

        record.Outcome.ShouldBe(DrillOutcome.Passed, "a sandbox that will not go away does not change what the drill proved");
        record.Sandbox.CleanupError.ShouldNotBeNull().ShouldContain($"namespace {record.Sandbox.Id} is still Terminating 00:03:00 after its deletion");
        Api.Objects("namespaces").Single()["status"]!["phase"]!.GetValue<string>().ShouldBe("Terminating");
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();

        _time.Advance(options.DeleteTimeout);
        var sweep = await Janitor(options).SweepAsync(Token);
        sweep.Failed.ShouldHaveSingleItem().ShouldStartWith($"{record.Sandbox.Id}: still Terminating since");
        await Api.ReleaseNamespacesAsync();
    }

    [Fact]
    public async Task Drill_OdooImagesBySeries_StartsTheImageOfTheBackupsOdooSeries()
    {
        // The scenario's database is Odoo 17.0 (base 17.0.1.3): its series' entry wins over Image.
        const string Image = "registry.example.com/odoo:17.0-acme";
        await Scenario.BackupAsync();
        await UseSandboxOdooAsync(Image);
        await using var odoo = new FakeOdooServer(database: Scenario.Source.Name);
        Api.Kubelet.Serve(Image, odoo.Port);
        var options = Options(o => o with
        {
            Odoo = new KubernetesOdooOptions { Image = "odoo:16.0", Images = new Dictionary<string, string> { ["16.0"] = "odoo:16.0", ["17.0"] = Image } },
        });

        var record = await DrillHarness.RunAsync(Scenario, Provider(options), null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Passed, string.Join("; ", record.Reasons) + " " + record.Error);
        record.Phases.Single(p => p.Phase == DrillPhase.OdooStart).Detail!.ShouldStartWith($"{Image} in pod {record.Sandbox.Id}/odoo-");
        Api.Served.ShouldContain(r => r.Resource == "deployments" && r.Verb == "create");
        odoo.Requests.ShouldContain(r => r.Contains("<methodName>authenticate</methodName>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Drill_NoOdooImageForTheBackupsSeries_FailsProvisionNamingTheSeriesAndTheKey()
    {
        await Scenario.BackupAsync();
        await UseSandboxOdooAsync("odoo:16.0");
        var options = Options(o => o with { Odoo = new KubernetesOdooOptions { Images = new Dictionary<string, string> { ["16.0"] = "odoo:16.0" } } });

        var record = await DrillHarness.RunAsync(Scenario, Provider(options), null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Error.ShouldBe("no Odoo image for this backup's Odoo 17.0.1.3: add BackupDr:Sandbox:Kubernetes:Odoo:Images:17.0, "
            + "or set Sandbox:Kubernetes:Odoo:Image for every other series; images are configured for: 16.0");
        record.Phases.Single(p => p.Phase == DrillPhase.Provision).Status.ShouldBe(PhaseStatus.Failed);
        ProductRequests.ShouldBeEmpty();
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_NoImageForTheBackupsMajor_FailsNamingTheMajorAndTheKey()
    {
        await Scenario.BackupAsync();
        var options = Options(o => o with { PostgresImages = new Dictionary<int, string> { [16] = "postgres:16.4" } });

        var record = await DrillHarness.RunAsync(Scenario, Provider(options), null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Error.ShouldBe("no PostgreSQL image for major 15 (the backup's server): add BackupDr:Sandbox:Kubernetes:PostgresImages:15, e.g. \"postgres:15\"; images are configured for: 16");
        ProductRequests.ShouldBeEmpty();
    }
}
