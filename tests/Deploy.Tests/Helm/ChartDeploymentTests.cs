using System.Globalization;
using System.Text.Json.Nodes;

namespace BackupDr.Deploy.Tests.Helm;

/// <summary>The Deployment `helm template` renders: probes, security, shutdown, fleet mode, volumes.</summary>
public sealed class ChartDeploymentTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Lint_DefaultAndFleetValues_Passes(bool fleet)
    {
        var result = await KubeTools.HelmAsync(fleet
            ? ["lint", "--strict", KubeTools.ChartDirectory, "-f", KubeTools.FleetValues]
            : ["lint", "--strict", KubeTools.ChartDirectory]);

        result.ExitCode.ShouldBe(0, result.ToString());
        result.Output.ShouldContain("0 chart(s) failed");
    }

    [Fact]
    public async Task Container_Default_RunsTheWorkerWithTheRenderedConfig()
    {
        var chart = await RenderedChart.RenderAsync();

        chart.Container["args"]!.AsArray().Select(a => (string)a!).ShouldBe(["run", "--config", "/etc/backupdr/appsettings.json"]);
        var configMount = Mounts(chart).Single(m => (string)m["mountPath"]! == "/etc/backupdr/appsettings.json");
        ((string?)configMount["subPath"]).ShouldBe("appsettings.json");
        var configVolume = Volume(chart, (string)configMount["name"]!);
        ((string?)configVolume["configMap"]!["name"]).ShouldBe((string)chart.Single("ConfigMap")["metadata"]!["name"]!);
        ((string?)chart.Deployment["spec"]!["strategy"]!["type"]).ShouldBe("Recreate");
    }

    [Fact]
    public async Task InitRepository_Default_NoInitContainer()
    {
        var chart = await RenderedChart.RenderAsync();

        chart.PodSpec["initContainers"].ShouldBeNull();
    }

    [Fact]
    public async Task InitRepository_Enabled_InitIfMissingWithTheWorkersConfigSecretsAndSecurity()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues, "--set", "initRepository=true");

        var init = chart.PodSpec["initContainers"]!.AsArray().ShouldHaveSingleItem()!.AsObject();
        init["args"]!.AsArray().Select(a => (string)a!).ShouldBe(["repo", "init", "--if-missing", "--config", "/etc/backupdr/appsettings.json"]);
        ((string?)init["image"]).ShouldBe((string?)chart.Container["image"]);
        foreach (var shared in new[] { "env", "volumeMounts", "securityContext", "resources" })
        {
            init[shared]!.ToJsonString().ShouldBe(chart.Container[shared]!.ToJsonString(), shared);
        }
    }

    [Theory]
    [InlineData(null, "8080")]
    [InlineData("9464", "9464")]
    public async Task Probes_HttpPort_HealthzAndReadyzOnTheConfiguredPort(string? port, string expected)
    {
        var chart = port is null
            ? await RenderedChart.RenderAsync()
            : await RenderedChart.RenderAsync("--set", $"config.BackupDr.Http.Port={port}");

        var containerPort = chart.Container["ports"]!.AsArray().Single()!;
        ((string?)containerPort["name"]).ShouldBe("http");
        ((string?)containerPort["containerPort"]).ShouldBe(expected);
        ((string?)chart.Container["livenessProbe"]!["httpGet"]!["path"]).ShouldBe("/healthz");
        ((string?)chart.Container["startupProbe"]!["httpGet"]!["path"]).ShouldBe("/healthz");
        ((string?)chart.Container["readinessProbe"]!["httpGet"]!["path"]).ShouldBe("/readyz");
        foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
        {
            ((string?)chart.Container[probe]!["httpGet"]!["port"]).ShouldBe("http");
        }

        var annotations = chart.Deployment["spec"]!["template"]!["metadata"]!["annotations"]!;
        ((string?)annotations["prometheus.io/scrape"]).ShouldBe("true");
        ((string?)annotations["prometheus.io/port"]).ShouldBe(expected);
        ((string?)annotations["prometheus.io/path"]).ShouldBe("/metrics");
        var servicePort = chart.Single("Service")["spec"]!["ports"]!.AsArray().Single()!;
        ((string?)servicePort["port"]).ShouldBe(expected);
        ((string?)servicePort["targetPort"]).ShouldBe("http");
        JsonNode.Parse(chart.ConfigJson)!["BackupDr"]!["Http"]!["Port"]!.GetValue<int>().ShouldBe(int.Parse(expected, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task SecurityContext_Default_NonRootReadOnlyNoPrivilegesRuntimeDefaultSeccomp()
    {
        var chart = await RenderedChart.RenderAsync();

        var pod = chart.PodSpec["securityContext"]!;
        ((string?)pod["runAsNonRoot"]).ShouldBe("true");
        ((string?)pod["runAsUser"]).ShouldBe("10001");
        ((string?)pod["seccompProfile"]!["type"]).ShouldBe("RuntimeDefault");
        var container = chart.Container["securityContext"]!;
        ((string?)container["runAsNonRoot"]).ShouldBe("true");
        ((string?)container["readOnlyRootFilesystem"]).ShouldBe("true");
        ((string?)container["allowPrivilegeEscalation"]).ShouldBe("false");
        container["capabilities"]!["drop"]!.AsArray().Select(c => (string)c!).ShouldBe(["ALL"]);
        container["capabilities"]!["add"].ShouldBeNull();
        container["privileged"].ShouldBeNull();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Volumes_ReadOnlyRoot_EveryWritablePathIsAVolume(bool fleet)
    {
        var chart = fleet ? await RenderedChart.RenderAsync("-f", KubeTools.FleetValues) : await RenderedChart.RenderAsync();

        var mounts = Mounts(chart).ToDictionary(m => (string)m["mountPath"]!, m => (string)m["name"]!);
        Volume(chart, mounts["/tmp"])["emptyDir"].ShouldNotBeNull();
        Volume(chart, mounts["/var/lib/backupdr"])["emptyDir"].ShouldNotBeNull();
        var config = JsonNode.Parse(chart.ConfigJson)!["BackupDr"]!;
        ((string)config["Sandbox"]!["WorkPath"]!).ShouldStartWith("/var/lib/backupdr/");
        var passphraseFile = (string)config["Repository"]!["PassphraseFile"]!;
        var passphraseMount = mounts.Single(m => passphraseFile.StartsWith(m.Key + "/", StringComparison.Ordinal));
        ((string?)Volume(chart, passphraseMount.Value)["secret"]!["secretName"]).ShouldNotBeNullOrEmpty();
        if (!fleet)
        {
            // Local sandboxes run PostgreSQL in the pod: /dev/shm is a memory volume, not the runtime's 64 MiB.
            ((string?)Volume(chart, mounts["/dev/shm"])["emptyDir"]!["medium"]).ShouldBe("Memory");

            // A Local repository must outlive the pod: a claim, never the emptyDir work volume.
            var repositoryPath = (string)config["Repository"]!["Path"]!;
            var claim = Volume(chart, mounts[repositoryPath])["persistentVolumeClaim"]!;
            ((string?)claim["claimName"]).ShouldBe((string)chart.Single("PersistentVolumeClaim")["metadata"]!["name"]!);
        }
        else
        {
            mounts.ShouldNotContainKey("/dev/shm");
            chart.OfKind("PersistentVolumeClaim").ShouldBeEmpty();
        }
    }

    [Theory]
    [InlineData(null, 30)]
    [InlineData("00:02:00", 120)]
    [InlineData("00:00:30.5", 31)]
    [InlineData("1.00:00:00", 86400)]
    public async Task TerminationGracePeriod_ShutdownTimeout_ExceedsItByTheMargin(string? timeout, int expectedSeconds)
    {
        var chart = timeout is null
            ? await RenderedChart.RenderAsync()
            : await RenderedChart.RenderAsync("--set-string", $"config.BackupDr.Scheduler.ShutdownTimeout={timeout}");

        var grace = int.Parse((string)chart.PodSpec["terminationGracePeriodSeconds"]!, CultureInfo.InvariantCulture);
        grace.ShouldBe(expectedSeconds + 15);

        // The worker's own reading of the same key (TimeSpan, invariant) stays within the grace period.
        var configured = (string?)JsonNode.Parse(chart.ConfigJson)!["BackupDr"]!["Scheduler"]?["ShutdownTimeout"] ?? "00:00:30";
        TimeSpan.Parse(configured, CultureInfo.InvariantCulture).ShouldBeLessThan(TimeSpan.FromSeconds(grace - 10));
    }

    [Fact]
    public async Task Replicas_MoreThanOne_ClusteredSchedulerWithItsSecret()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues);

        ((string?)chart.Deployment["spec"]!["replicas"]).ShouldBe("3");
        JsonNode.Parse(chart.ConfigJson)!["BackupDr"]!["Scheduler"]!["Clustered"]!.GetValue<bool>().ShouldBeTrue();
        chart.SecretEnvironment["BackupDr__Scheduler__ConnectionString"].ShouldBe(("backupdr-quartz", "connection-string"));
        ((string?)chart.Deployment["spec"]!["strategy"]!["type"]).ShouldBe("RollingUpdate");
        ((string?)chart.Deployment["spec"]!["strategy"]!["rollingUpdate"]!["maxUnavailable"]).ShouldBe("0");
    }

    [Fact]
    public async Task Replicas_OneByDefault_NotClustered()
    {
        var chart = await RenderedChart.RenderAsync();

        JsonNode.Parse(chart.ConfigJson)!["BackupDr"]!["Scheduler"]!["Clustered"].ShouldBeNull();
        chart.SecretEnvironment.ShouldNotContainKey("BackupDr__Scheduler__ConnectionString");
    }

    [Theory]
    [InlineData("replicas=3", "set secrets.scheduler.existingSecret")]
    [InlineData("replicas=2,secrets.scheduler.existingSecret=q", "cannot share a Local repository")]
    [InlineData("secrets.targets[0].target=nope,secrets.targets[0].existingSecret=s", "names target \"nope\", which is not in config.BackupDr.Targets")]
    [InlineData("config.BackupDr.Scheduler.ConnectionString=Host=q;Password=x", "holds a password")]
    [InlineData("config.BackupDr.Repository.Passphrase=long enough passphrase", "set secrets.passphrase.existingSecret")]
    [InlineData("config.BackupDr.Notifications.Email.Password=x", "set secrets.email.existingSecret")]
    public async Task Render_UnsafeOrIncompleteValues_FailsSayingWhatToDo(string values, string message)
    {
        var result = await RenderedChart.TemplateAsync("--set", values);

        result.ExitCode.ShouldNotBe(0, result.ToString());
        result.Error.ShouldContain(message);
    }

    [Fact]
    public async Task Render_PasswordInATargetConnectionString_Fails()
    {
        var result = await RenderedChart.TemplateAsync("-f", KubeTools.FleetValues,
            "--set-string", "config.BackupDr.Targets[0].ConnectionString=Host=db;Database=acme;Username=backup;Password=hunter2");

        result.ExitCode.ShouldNotBe(0, result.ToString());
        result.Error.ShouldContain("add the target to secrets.targets");
        result.Error.ShouldNotContain("hunter2");
    }

    [Fact]
    public async Task DisruptionBudget_Default_SelectsTheDeploymentsPods()
    {
        var chart = await RenderedChart.RenderAsync();

        var budget = chart.Single("PodDisruptionBudget");
        ((string?)budget["spec"]!["maxUnavailable"]).ShouldBe("1");
        budget["spec"]!["selector"]!.ToJsonString().ShouldBe(chart.Deployment["spec"]!["selector"]!.ToJsonString());
    }

    [Fact]
    public async Task Resources_Default_RequestsAndMemoryLimitSet()
    {
        var chart = await RenderedChart.RenderAsync();

        chart.Container["resources"]!["requests"]!["cpu"].ShouldNotBeNull();
        chart.Container["resources"]!["requests"]!["memory"].ShouldNotBeNull();
        chart.Container["resources"]!["limits"]!["memory"].ShouldNotBeNull();
    }

    private static IEnumerable<JsonObject> Mounts(RenderedChart chart) =>
        chart.Container["volumeMounts"]!.AsArray().Select(m => m!.AsObject());

    private static JsonObject Volume(RenderedChart chart, string name) =>
        chart.PodSpec["volumes"]!.AsArray().Select(v => v!.AsObject()).Single(v => (string)v["name"]! == name);
}
