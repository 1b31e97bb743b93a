using System.Text.RegularExpressions;
using BackupDr.DrillRunner.Sandboxes;
using BackupDr.DrillRunner.Sandboxes.Kubernetes;
using BackupDr.Repository.Configuration;

namespace BackupDr.DrillRunner.Tests.Sandboxes;

/// <summary>Names, labels and manifests of sandbox namespaces: valid for the API server, deterministic, collision-safe, isolating.</summary>
public sealed partial class SandboxNamespaceTests
{
    private const string DrillId = "20261123T193515123Z-a1b2c3";

    [Theory]
    [InlineData("backupdr-drill", "acme-prod")]
    [InlineData("backupdr-drill-fleet", "a-very-long-target-name-of-forty-chars0")]
    [InlineData("x", "z")]
    public void Name_AnyTarget_IsADnsLabelOfAtMost63Characters(string prefix, string target)
    {
        var name = SandboxNamespace.Name(prefix, target, DrillId);

        name.Length.ShouldBeLessThanOrEqualTo(63);
        DnsLabel().IsMatch(name).ShouldBeTrue(name);
        name.ShouldStartWith(prefix + "-");
        name.ShouldBe(SandboxNamespace.Name(prefix, target, DrillId), "the same drill gets the same name");
    }

    [Fact]
    public void Name_TargetsSharingTheirShortenedForm_StillDiffer()
    {
        var first = SandboxNamespace.Name("backupdr-drill-fleet", "tenant-with-a-long-name-production-eu1", DrillId);
        var second = SandboxNamespace.Name("backupdr-drill-fleet", "tenant-with-a-long-name-production-eu2", DrillId);

        first.ShouldNotBe(second);
        SandboxNamespace.Name("backupdr-drill", "acme-prod", DrillId).ShouldNotBe(SandboxNamespace.Name("backupdr-drill", "acme-prod", "20261123T193515124Z-a1b2c3"));
    }

    [Fact]
    public void Labels_TenantWithSpacesAndAccents_BecomeValidLabelValues()
    {
        var labels = SandboxNamespace.Labels(new SandboxRequest(DrillId, "acme-prod", 15) { Tenant = "ACME Société & Co." });

        labels["backupdr.io/tenant"].ShouldBe("ACME-Soci-t----Co");
        labels["backupdr.io/drill-id"].ShouldBe(DrillId);
        labels["app.kubernetes.io/managed-by"].ShouldBe("backupdr");
    }

    [Fact]
    public void PostgresPod_FromOptions_IsNonRootWithoutTokenAndArchivingOff()
    {
        var limits = new TierSandboxOptions { CpuMillicores = 1500, MemoryBytes = 2L << 30, StorageBytes = 10L << 30 };

        var pod = SandboxManifests.PostgresPod("ns", "postgres:15.8", limits, new KubernetesSandboxOptions { ImagePullSecrets = ["pull"] }, DrillId);

        var container = pod.Spec.Containers.ShouldHaveSingleItem();
        container.Args.ShouldContain("archive_mode=off");
        container.Args.ShouldContain("max_wal_senders=0");
        container.SecurityContext.AllowPrivilegeEscalation.ShouldBe(false);
        container.SecurityContext.ReadOnlyRootFilesystem.ShouldBe(true);
        container.SecurityContext.Capabilities.Drop.ShouldBe(["ALL"]);
        container.Resources.Limits["cpu"].ToString().ShouldBe("1500m");
        container.Resources.Limits["memory"].ToString().ShouldBe("2Gi");
        container.Env.ShouldContain(e => e.Name == "POSTGRES_PASSWORD" && e.ValueFrom.SecretKeyRef.Name == "postgres");
        pod.Spec.SecurityContext.RunAsNonRoot.ShouldBe(true);
        pod.Spec.SecurityContext.RunAsUser.ShouldBe(999);
        pod.Spec.AutomountServiceAccountToken.ShouldBe(false);
        pod.Spec.RestartPolicy.ShouldBe("Never");
        pod.Spec.ImagePullSecrets.ShouldHaveSingleItem().Name.ShouldBe("pull");
    }

    [Fact]
    public void Quota_FromTier_CapsTheNamespaceAndForbidsVolumesAndExposedServices()
    {
        var quota = SandboxManifests.Quota("ns", new TierSandboxOptions { CpuMillicores = 2000, MemoryBytes = 4L << 30, StorageBytes = 20L << 30 });

        quota.Spec.Hard["limits.cpu"].ToString().ShouldBe("2");
        quota.Spec.Hard["limits.memory"].ToString().ShouldBe("4Gi");
        quota.Spec.Hard["limits.ephemeral-storage"].ToString().ShouldBe("20Gi");
        quota.Spec.Hard["persistentvolumeclaims"].ToString().ShouldBe("0");
        quota.Spec.Hard["services.loadbalancers"].ToString().ShouldBe("0");
        quota.Spec.Hard["services.nodeports"].ToString().ShouldBe("0");
    }

    [Fact]
    public void NetworkPolicies_NoRepositoryEgress_DenyAllButDnsAndTheNamespace()
    {
        var policies = SandboxManifests.NetworkPolicies("ns", new KubernetesSandboxOptions());

        policies.Select(p => p.Metadata.Name).ShouldBe(["default-deny", "allow-same-namespace", "allow-dns"]);
        var dns = policies.Single(p => p.Metadata.Name == "allow-dns").Spec;
        dns.PolicyTypes.ShouldBe(["Egress"]);
        dns.Egress.ShouldHaveSingleItem().Ports.Select(p => (p.Protocol, p.Port.Value)).ShouldBe([("UDP", "53"), ("TCP", "53")]);
        var inside = policies.Single(p => p.Metadata.Name == "allow-same-namespace").Spec;
        inside.Ingress.ShouldHaveSingleItem().FromProperty.ShouldHaveSingleItem().NamespaceSelector.ShouldBeNull();
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
