using BackupDr.Repository.Configuration;
using static BackupDr.Repository.Tests.Configuration.ConfigurationFixtures;

namespace BackupDr.Repository.Tests.Configuration;

/// <summary><c>Sandbox:Kubernetes</c> and each tier's <c>Sandbox</c> limits: read typed, every bad field reported with its key, unknown keys rejected.</summary>
public sealed class KubernetesSandboxOptionsTests
{
    private const string Kube = "BackupDr:Sandbox:Kubernetes";

    [Fact]
    public void Load_FullKubernetesSection_ReadsEveryField()
    {
        var kubeconfig = Path.GetTempFileName();
        var options = BackupDrConfiguration.Load(Build(ValidJson, new Dictionary<string, string?>
        {
            ["BackupDr:Sandbox:Kind"] = "Kubernetes",
            [$"{Kube}:Kubeconfig"] = kubeconfig, [$"{Kube}:Context"] = "prod", [$"{Kube}:NamespacePrefix"] = "drills",
            [$"{Kube}:PostgresImages:15"] = "postgres:15.8", [$"{Kube}:PostgresImages:16"] = "registry.example.com/postgres:16.4",
[$"{Kube}:ReadyTimeout"] = "00:02:00", [$"{Kube}:DeleteTimeout"] = "00:10:00", [$"{Kube}:Expiry"] = "06:00:00",
            [$"{Kube}:RepositoryEgress:0:Cidrs:0"] = "10.20.0.0/16", [$"{Kube}:RepositoryEgress:0:Ports:0"] = "443",
            [$"{Kube}:ImagePullSecrets:0"] = "registry-credentials", [$"{Kube}:RunAsUser"] = "70",
            ["BackupDr:Tiers:gold:Sandbox:CpuMillicores"] = "4000", ["BackupDr:Tiers:gold:Sandbox:MemoryBytes"] = "8589934592",
            ["BackupDr:Tiers:gold:Sandbox:StorageBytes"] = "107374182400",
        }));

        var kube = options.Sandbox.Kubernetes;
        options.Sandbox.Kind.ShouldBe(SandboxKind.Kubernetes);
        kube.Kubeconfig.ShouldBe(kubeconfig);
        kube.Context.ShouldBe("prod");
        kube.NamespacePrefix.ShouldBe("drills");
        kube.PostgresImages.ShouldBe(new Dictionary<int, string> { [15] = "postgres:15.8", [16] = "registry.example.com/postgres:16.4" });
        kube.ReadyTimeout.ShouldBe(TimeSpan.FromMinutes(2));
        kube.DeleteTimeout.ShouldBe(TimeSpan.FromMinutes(10));
        kube.Expiry.ShouldBe(TimeSpan.FromHours(6));
        var egress = kube.RepositoryEgress.ShouldHaveSingleItem();
        egress.Cidrs.ShouldBe(["10.20.0.0/16"]);
        egress.Ports.ShouldBe([443]);
        kube.ImagePullSecrets.ShouldBe(["registry-credentials"]);
        kube.RunAsUser.ShouldBe(70);
        options.Tiers["gold"].Sandbox.ShouldBe(new TierSandboxOptions { CpuMillicores = 4000, MemoryBytes = 8L << 30, StorageBytes = 100L << 30 });
    }

    [Fact]
    public void Load_LocalKindWithoutKubernetesSection_ValidWithDefaults()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson));

        var kube = options.Sandbox.Kubernetes;
        kube.NamespacePrefix.ShouldBe("backupdr-drill");
        kube.PostgresImages.ShouldBeEmpty();
        kube.Kubeconfig.ShouldBe("");
        (kube.ReadyTimeout, kube.DeleteTimeout, kube.Expiry).ShouldBe((TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5), TimeSpan.FromHours(12)));
        kube.RepositoryEgress.ShouldBeEmpty();
        kube.RunAsUser.ShouldBe(999);
        options.Tiers["gold"].Sandbox.ShouldBe(new TierSandboxOptions());
    }

    [Fact]
    public void Validate_BadKubernetesSection_ReportsEveryFieldAtOnce()
    {
        var errors = Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Sandbox:Kind"] = "Kubernetes",
            [$"{Kube}:Kubeconfig"] = "/nonexistent/kubeconfig", [$"{Kube}:NamespacePrefix"] = "Drills_Of_Acme-That-Is-Too-Long",
            [$"{Kube}:PostgresImages:fifteen"] = "postgres:15", [$"{Kube}:PostgresImages:16"] = "not an image",
            [$"{Kube}:ReadyTimeout"] = "soon", [$"{Kube}:RepositoryEgress:0:Cidrs:0"] = "10.20.0.0/33", [$"{Kube}:RepositoryEgress:0:Ports:0"] = "https",
            [$"{Kube}:RepositoryEgress:0:Ports:1"] = "70000", [$"{Kube}:RunAsUser"] = "0", [$"{Kube}:Colour"] = "blue",
            ["BackupDr:Tiers:gold:Sandbox:CpuMillicores"] = "10", ["BackupDr:Tiers:gold:Sandbox:MemoryBytes"] = "lots", ["BackupDr:Tiers:gold:Sandbox:Disk"] = "1",
        });
        var byKey = errors.GroupBy(e => e.Key).ToDictionary(g => g.Key, g => string.Join(" | ", g.Select(e => e.Message)));

        byKey[$"{Kube}:Kubeconfig"].ShouldContain("does not exist");
        byKey[$"{Kube}:NamespacePrefix"].ShouldContain("at most 20 characters");
        byKey[$"{Kube}:PostgresImages:fifteen"].ShouldContain("not a PostgreSQL major version");
        byKey[$"{Kube}:PostgresImages:16"].ShouldContain("not an image reference");
        byKey[$"{Kube}:ReadyTimeout"].ShouldContain("not a duration");
        byKey[$"{Kube}:RepositoryEgress:0:Cidrs"].ShouldContain("'10.20.0.0/33' is not an address block");
        byKey[$"{Kube}:RepositoryEgress:0:Ports"].ShouldContain("'https' is not a TCP port");
        byKey[$"{Kube}:RepositoryEgress:0:Ports"].ShouldContain("70000 is not a TCP port");
        byKey[$"{Kube}:RunAsUser"].ShouldContain("never run as root");
        byKey[$"{Kube}:Colour"].ShouldContain("unknown setting");
        byKey["BackupDr:Tiers:gold:Sandbox:CpuMillicores"].ShouldContain("at least 100");
        byKey["BackupDr:Tiers:gold:Sandbox:MemoryBytes"].ShouldContain("not a whole number");
        byKey["BackupDr:Tiers:gold:Sandbox:Disk"].ShouldContain("unknown setting");
    }

    [Fact]
    public void Validate_KubernetesKindWithoutImages_NamesTheKeyAndAnExample()
    {
        var error = Errors(new Dictionary<string, string?> { ["BackupDr:Sandbox:Kind"] = "Kubernetes" }).ShouldHaveSingleItem();

        error.Key.ShouldBe($"{Kube}:PostgresImages");
        error.Message.ShouldContain("\"15\": \"postgres:15.8\"");
    }

    [Fact]
    public void Load_OdooSection_ReadsEveryFieldAndDefaults()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson, new Dictionary<string, string?>
        {
            ["BackupDr:Sandbox:Kind"] = "Kubernetes", [$"{Kube}:PostgresImages:15"] = "postgres:15.8",
            [$"{Kube}:Odoo:Image"] = "registry.example.com/odoo:17.0", [$"{Kube}:Odoo:Port"] = "8080", [$"{Kube}:Odoo:CpuMillicores"] = "500",
            [$"{Kube}:Odoo:MemoryBytes"] = "536870912", [$"{Kube}:Odoo:StorageBytes"] = "2147483648", [$"{Kube}:Odoo:RunAsUser"] = "1000",
        }));

        options.Sandbox.Kubernetes.Odoo.ShouldBe(new KubernetesOdooOptions
        {
            Image = "registry.example.com/odoo:17.0", Port = 8080, CpuMillicores = 500, MemoryBytes = 512L << 20, StorageBytes = 2L << 30, RunAsUser = 1000,
        });
        options.Sandbox.RunsOdoo.ShouldBeTrue();
        var defaults = BackupDrConfiguration.Load(Build(ValidJson)).Sandbox;
        defaults.Kubernetes.Odoo.ShouldBe(new KubernetesOdooOptions { Image = "", Port = 8069, CpuMillicores = 1000, MemoryBytes = 1L << 30, StorageBytes = 1L << 30, RunAsUser = 101 });
        defaults.RunsOdoo.ShouldBeFalse("no image, and the sandbox is Local");
    }

    [Fact]
    public void Validate_BadOdooSection_ReportsEveryFieldAtOnce()
    {
        var errors = Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Sandbox:Kind"] = "Kubernetes", [$"{Kube}:PostgresImages:15"] = "postgres:15.8",
            [$"{Kube}:Odoo:Image"] = "odoo 17", [$"{Kube}:Odoo:Port"] = "0", [$"{Kube}:Odoo:CpuMillicores"] = "50",
            [$"{Kube}:Odoo:MemoryBytes"] = "1048576", [$"{Kube}:Odoo:StorageBytes"] = "1", [$"{Kube}:Odoo:RunAsUser"] = "0", [$"{Kube}:Odoo:Workers"] = "4",
        }).ToDictionary(e => e.Key, e => e.Message);

        errors.Keys.Order().ShouldBe(new[] { "Image", "Port", "CpuMillicores", "MemoryBytes", "StorageBytes", "RunAsUser", "Workers" }.Select(k => $"{Kube}:Odoo:{k}").Order());
        errors[$"{Kube}:Odoo:Image"].ShouldContain("not an image reference such as odoo:17.0");
        errors[$"{Kube}:Odoo:Port"].ShouldContain("not a TCP port");
        errors[$"{Kube}:Odoo:CpuMillicores"].ShouldContain("at least 100");
        errors[$"{Kube}:Odoo:MemoryBytes"].ShouldContain("at least 268435456");
        errors[$"{Kube}:Odoo:StorageBytes"].ShouldContain("at least 268435456");
        errors[$"{Kube}:Odoo:RunAsUser"].ShouldContain("never run as root");
        errors[$"{Kube}:Odoo:Workers"].ShouldContain("unknown setting");
    }

    [Fact]
    public void Load_OdooImagesBySeries_AreReadAndChosenByTheBackupsOdooVersion()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson, new Dictionary<string, string?>
        {
            ["BackupDr:Sandbox:Kind"] = "Kubernetes", [$"{Kube}:PostgresImages:15"] = "postgres:15.8",
            [$"{Kube}:Odoo:Image"] = "odoo:17.0", [$"{Kube}:Odoo:Images:16.0"] = "registry.example.com/odoo:16.0-acme",
            [$"{Kube}:Odoo:Images:saas~17.2"] = "registry.example.com/odoo:saas-17.2",
        }));
        var odoo = options.Sandbox.Kubernetes.Odoo;

        odoo.Images.Count.ShouldBe(2);
        odoo.ImageFor("16.0.1.3").ShouldBe("registry.example.com/odoo:16.0-acme");
        odoo.ImageFor("saas~17.2.1.0").ShouldBe("registry.example.com/odoo:saas-17.2");
        odoo.ImageFor("17.0.1.3").ShouldBe("odoo:17.0", "a series without an entry takes Image");
        odoo.ImageFor(null).ShouldBe("odoo:17.0", "a backup without a recorded Odoo version takes Image");
        (odoo with { Image = "" }).ImageFor("15.0.1.3").ShouldBeNull("no entry and no Image: nothing fits");
        (odoo with { Image = "" }).Enabled.ShouldBeTrue("images by series alone run Odoo in sandboxes");
    }

    [Fact]
    public void Validate_BadOdooImagesEntries_NameEachOne()
    {
        var errors = Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Sandbox:Kind"] = "Kubernetes", [$"{Kube}:PostgresImages:15"] = "postgres:15.8",
            [$"{Kube}:Odoo:Images:17"] = "odoo:17.0", [$"{Kube}:Odoo:Images:16.0"] = "odoo 16",
        }).ToDictionary(e => e.Key, e => e.Message);

        errors.Keys.Order().ShouldBe([$"{Kube}:Odoo:Images:16.0", $"{Kube}:Odoo:Images:17"]);
        errors[$"{Kube}:Odoo:Images:17"].ShouldContain("not an Odoo series such as 16.0, 17.0 or saas~17.2");
        errors[$"{Kube}:Odoo:Images:16.0"].ShouldContain("not an image reference");
    }
}
