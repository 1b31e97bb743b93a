using BackupDr.DrillRunner.Sandboxes.Kubernetes;
using BackupDr.Repository.Configuration;

namespace BackupDr.DrillRunner.Tests.Sandboxes;

/// <summary>The sandbox's Odoo objects: one locked-down replica on the restored database, reachable by name, inside the quota.</summary>
public sealed class OdooManifestsTests
{
    private const string DrillId = "20261123T193515123Z-a1b2c3";

    private static readonly KubernetesOdooOptions Odoo = new() { Image = "odoo:17.0", CpuMillicores = 500, MemoryBytes = 1L << 30, StorageBytes = 2L << 30 };

    [Fact]
    public void Deployment_FromOptions_OneNonRootReplicaServingOnlyTheRestoredDatabaseWithoutCrons()
    {
        var deployment = OdooManifests.Deployment("ns", "acme.prod", Odoo, new KubernetesSandboxOptions { ImagePullSecrets = ["pull"] }, DrillId);

        deployment.Spec.Replicas.ShouldBe(1);
        deployment.Spec.Strategy.Type.ShouldBe("Recreate");
        deployment.Spec.Selector.MatchLabels.ShouldBe(new Dictionary<string, string> { ["app.kubernetes.io/name"] = "odoo" });
        var pod = deployment.Spec.Template.Spec;
        deployment.Spec.Template.Metadata.Labels["app.kubernetes.io/name"].ShouldBe("odoo");
        pod.AutomountServiceAccountToken.ShouldBe(false);
        pod.EnableServiceLinks.ShouldBe(false);
        pod.SecurityContext.RunAsNonRoot.ShouldBe(true);
        pod.SecurityContext.RunAsUser.ShouldBe(101);
        pod.ImagePullSecrets.ShouldHaveSingleItem().Name.ShouldBe("pull");
        var container = pod.Containers.ShouldHaveSingleItem();
        container.Image.ShouldBe("odoo:17.0");
        container.Args.ShouldBe(["--database=acme.prod", @"--db-filter=^acme\.prod$", "--no-database-list", "--max-cron-threads=0", "--http-port=8069", "--data-dir=/var/lib/odoo"]);
        container.Env.Select(e => $"{e.Name}={e.Value}").ShouldBe(["HOST=postgres", "PORT=5432", "USER=odoo", "PASSWORD="]);
        container.Env.Single(e => e.Name == "PASSWORD").ValueFrom.SecretKeyRef.Key.ShouldBe(OdooManifests.PasswordKey);
        container.SecurityContext.AllowPrivilegeEscalation.ShouldBe(false);
        container.SecurityContext.ReadOnlyRootFilesystem.ShouldBe(true);
        container.SecurityContext.Capabilities.Drop.ShouldBe(["ALL"]);
        container.ReadinessProbe.HttpGet.Path.ShouldBe("/web/login");
        container.ReadinessProbe.HttpGet.Port.Value.ShouldBe("http");
        container.Ports.ShouldHaveSingleItem().ContainerPort.ShouldBe(8069);
        container.Resources.Limits["cpu"].ToString().ShouldBe("500m");
        container.Resources.Requests["memory"].ToString().ShouldBe("1Gi");
        container.VolumeMounts.Select(m => m.MountPath).ShouldBe(["/var/lib/odoo", "/tmp"]);
    }

    [Fact]
    public void Services_PostgresAndOdoo_ClusterIpOnTheirPods()
    {
        var postgres = OdooManifests.PostgresService("ns");
        var odoo = OdooManifests.OdooService("ns", Odoo with { Port = 8080 });

        postgres.Metadata.Name.ShouldBe("postgres");
        postgres.Spec.Type.ShouldBe("ClusterIP");
        postgres.Spec.Selector["app.kubernetes.io/name"].ShouldBe("postgres");
        postgres.Spec.Ports.ShouldHaveSingleItem().Port.ShouldBe(5432);
        odoo.Spec.Selector["app.kubernetes.io/name"].ShouldBe("odoo");
        odoo.Spec.Ports.ShouldHaveSingleItem().Port.ShouldBe(8080);
        OdooManifests.InternalUrl("ns", Odoo).ShouldBe("http://odoo.ns.svc:8069");
        SandboxManifests.PostgresPod("ns", "postgres:15.8", new TierSandboxOptions(), new KubernetesSandboxOptions(), DrillId)
            .Metadata.Labels["app.kubernetes.io/name"].ShouldBe("postgres", "the PostgreSQL Service selects the pod by this label");
    }

    [Fact]
    public void QuotaAndLimitRange_WithOdoo_MakeRoomForItOnTopOfTheTier()
    {
        var tier = new TierSandboxOptions { CpuMillicores = 2000, MemoryBytes = 512L << 20, StorageBytes = 20L << 30 };

        var quota = SandboxManifests.Quota("ns", tier, Odoo).Spec.Hard;
        var limits = SandboxManifests.LimitRange("ns", tier, Odoo).Spec.Limits.ShouldHaveSingleItem();

        quota["limits.cpu"].ToDecimal().ShouldBe(2.5m);
        quota["requests.memory"].ToInt64().ShouldBe((512L << 20) + (1L << 30));
        quota["limits.ephemeral-storage"].ToString().ShouldBe("22Gi");
        limits.Max["memory"].ToString().ShouldBe("1Gi", "the Odoo container may be larger than the tier's PostgreSQL container");
        limits.Max["cpu"].ToDecimal().ShouldBe(2m);
        limits.DefaultProperty["memory"].ToString().ShouldBe("512Mi", "a container without resources still gets the tier's");
        SandboxManifests.Quota("ns", tier).Spec.Hard["limits.cpu"].ToDecimal().ShouldBe(2m, "no Odoo, no room for it");
        SandboxManifests.PasswordSecret("ns", "pg", "od").StringData.Keys.ShouldBe(["POSTGRES_PASSWORD", OdooManifests.PasswordKey], ignoreOrder: true);
        SandboxManifests.PasswordSecret("ns", "pg").StringData.Keys.ShouldBe(["POSTGRES_PASSWORD"]);
    }
}
