using BackupDr.TestSupport;

namespace BackupDr.Deploy.Tests.Helm;

/// <summary>Metrics objects, the dashboard, the schema, and kubectl's own parse of everything rendered.</summary>
public sealed class ChartObjectsTests
{
    [Fact]
    public async Task ServiceMonitor_FleetValues_ScrapesMetricsOnTheServicePort()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues);

        var monitor = chart.Single("ServiceMonitor");
        ((string?)monitor["apiVersion"]).ShouldBe("monitoring.coreos.com/v1");
        ((string?)monitor["metadata"]!["labels"]!["release"]).ShouldBe("prometheus");
        var endpoint = monitor["spec"]!["endpoints"]!.AsArray().ShouldHaveSingleItem()!;
        ((string?)endpoint["port"]).ShouldBe("http");
        ((string?)endpoint["path"]).ShouldBe("/metrics");
        monitor["spec"]!["selector"]!["matchLabels"]!.ToJsonString()
            .ShouldBe(chart.Single("Service")["spec"]!["selector"]!.ToJsonString());
        chart.Single("Service")["spec"]!["ports"]!.AsArray().Select(p => (string?)p!["name"]).ShouldContain("http");
    }

    [Fact]
    public async Task ServiceMonitorAndDashboard_Default_NotRendered()
    {
        var chart = await RenderedChart.RenderAsync();

        chart.OfKind("ServiceMonitor").ShouldBeEmpty();
        chart.OfKind("ConfigMap").ShouldHaveSingleItem();
    }

    [Fact]
    public async Task Dashboard_Enabled_ConfigMapHoldsTheRepositoryDashboard()
    {
        var chart = await RenderedChart.RenderAsync("--set", "grafanaDashboard.enabled=true");

        var dashboard = chart.OfKind("ConfigMap").Single(c => ((string)c["metadata"]!["name"]!).EndsWith("-dashboard", StringComparison.Ordinal));
        ((string?)dashboard["metadata"]!["labels"]!["grafana_dashboard"]).ShouldBe("1");
        var expected = await File.ReadAllTextAsync(
            Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "grafana", "backupdr-dashboard.json"), TestContext.Current.CancellationToken);
        ((string)dashboard["data"]!["backupdr-dashboard.json"]!).ShouldBe(expected.TrimEnd('\n'));
    }

    [Theory]
    [InlineData("replicas=0", "/replicas")]
    [InlineData("replicas=two", "/replicas")]
    [InlineData("config.BackupDr.Sandbox.Kind=Docker", "/config/BackupDr/Sandbox/Kind")]
    [InlineData("config.BackupDr.Repository.Kind=Ftp", "/config/BackupDr/Repository/Kind")]
    [InlineData("config.BackupDr.Http.Port=70000", "/config/BackupDr/Http/Port")]
    [InlineData("config.BackupDr.Sandbox.Kubernetes.Odoo.Port=70000", "/config/BackupDr/Sandbox/Kubernetes/Odoo/Port")]
    [InlineData("config.BackupDr.Sandbox.Kubernetes.Odoo.RunAsUser=0", "/config/BackupDr/Sandbox/Kubernetes/Odoo/RunAsUser")]
    [InlineData("config.BackupDr.Sandbox.Kubernetes.Odoo.Workers=4", "/config/BackupDr/Sandbox/Kubernetes/Odoo")]
    [InlineData("config.BackupDr.Scheduler.ShutdownTimeout=30s", "/config/BackupDr/Scheduler/ShutdownTimeout")]
    [InlineData("securityContext.readOnlyRootFilesystem=false", "/securityContext/readOnlyRootFilesystem")]
    [InlineData("securityContext.allowPrivilegeEscalation=true", "/securityContext/allowPrivilegeEscalation")]
    [InlineData("podSecurityContext.runAsNonRoot=false", "/podSecurityContext/runAsNonRoot")]
    [InlineData("rbac.create=maybe", "/rbac/create")]
    [InlineData("replica=3", "replica")]
    public async Task Schema_BadValue_LintAndTemplateFailNamingIt(string value, string location)
    {
        var template = await RenderedChart.TemplateAsync("--set", value);
        var lint = await KubeTools.HelmAsync("lint", KubeTools.ChartDirectory, "--set", value);

        template.ExitCode.ShouldNotBe(0, template.ToString());
        template.Error.ShouldContain("schema");
        template.Error.ShouldContain(location);
        lint.ExitCode.ShouldNotBe(0, lint.ToString());
    }

    /// <summary>
    /// kubectl cannot validate objects against the API's OpenAPI schema without a server (`create --dry-run=client`
    /// and `apply --dry-run=client` both need discovery, even with --validate=false), so this is what can be checked
    /// offline: `kubectl kustomize` reads every rendered object as a resource (apiVersion, kind, metadata.name) and
    /// rejects duplicates.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Kubectl_EveryRenderedObject_ParsesAsAResource(bool fleet)
    {
        var chart = fleet ? await RenderedChart.RenderAsync("-f", KubeTools.FleetValues) : await RenderedChart.RenderAsync();
        var directory = Directory.CreateTempSubdirectory("backupdr-kustomize-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "rendered.yaml"), chart.Manifest, TestContext.Current.CancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, "kustomization.yaml"), "resources:\n- rendered.yaml\n", TestContext.Current.CancellationToken);

            var result = await KubeTools.KubectlAsync("kustomize", directory);

            result.ExitCode.ShouldBe(0, result.ToString());
            var parsed = RenderedChart.Parse(result.Output);
            parsed.Objects.Select(Identity).Order().ShouldBe(chart.Objects.Select(Identity).Order());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Identity(System.Text.Json.Nodes.JsonObject o) => $"{o["apiVersion"]}/{o["kind"]}/{o["metadata"]!["name"]}";
}
