using BackupDr.Repository.Configuration;
using static BackupDr.Repository.Tests.Configuration.ConfigurationFixtures;

namespace BackupDr.Repository.Tests.Configuration;

/// <summary>The target's Drill section: custom SQL probes, recency window and the sandbox's Odoo server, each rule reported with its key.</summary>
public sealed class DrillOptionsTests
{
    private const string Probe = "BackupDr:Targets:0:Drill:Probes:0";
    private const string Odoo = "BackupDr:Targets:0:Drill:Odoo";

    [Fact]
    public void Load_FullDrillSection_ReadsEveryField()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson, new Dictionary<string, string?>
        {
            ["BackupDr:Targets:0:Drill:RecencyWindow"] = "1.00:00:00",
            [$"{Probe}:Name"] = "open-invoices", [$"{Probe}:Query"] = "SELECT count(*) FROM account_move;", [$"{Probe}:Min"] = "1",
            [$"{Probe}:Max"] = "1e3", [$"{Probe}:Critical"] = "false", [$"{Probe}:Timeout"] = "00:00:30",
            [$"{Odoo}:Url"] = "http://127.0.0.1:8069", [$"{Odoo}:Login"] = "drill", [$"{Odoo}:Password"] = "s3cret-api-key",
        }));

        var drill = options.Targets[0].Drill;
        drill.RecencyWindow.ShouldBe(TimeSpan.FromDays(1));
        var probe = drill.Probes.ShouldHaveSingleItem();
        probe.ShouldBe(new SqlProbeOptions
        {
            Name = "open-invoices", Query = "SELECT count(*) FROM account_move;", Min = 1, Max = 1000, Critical = false, Timeout = TimeSpan.FromSeconds(30),
        });
        drill.Odoo.ShouldNotBeNull().Login.ShouldBe("drill");
        drill.Odoo.Timeout.ShouldBe(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Load_NoDrillSection_HasNoProbesNoOdooNoWindow()
    {
        var drill = BackupDrConfiguration.Load(Build(ValidJson)).Targets[0].Drill;

        drill.Probes.ShouldBeEmpty();
        drill.Odoo.ShouldBeNull();
        drill.RecencyWindow.ShouldBeNull();
    }

    [Fact]
    public void Validate_BadProbesAndOdoo_ReportsEveryFieldAndNeverThePassword()
    {
        var errors = Errors(new Dictionary<string, string?>
        {
            [$"{Probe}:Name"] = "ledger", [$"{Probe}:Query"] = "SELECT 1; DROP TABLE res_partner", [$"{Probe}:Expected"] = "1", [$"{Probe}:Min"] = "0",
            ["BackupDr:Targets:0:Drill:Probes:1:Name"] = "Bad Name", ["BackupDr:Targets:0:Drill:Probes:1:Query"] = "", ["BackupDr:Targets:0:Drill:Probes:1:Min"] = "5",
            ["BackupDr:Targets:0:Drill:Probes:1:Max"] = "1", ["BackupDr:Targets:0:Drill:Probes:1:Colour"] = "red",
            [$"{Odoo}:Url"] = "http://drill:hunter2@odoo:8069", [$"{Odoo}:Password"] = "",
            ["BackupDr:Targets:0:Drill:RecencyWindow"] = "soon",
        }).ToDictionary(e => e.Key, e => e.Message);

        errors[$"{Probe}:Name"].ShouldContain("name of a built-in probe");
        errors[$"{Probe}:Query"].ShouldContain("one statement");
        errors[Probe].ShouldContain("either Expected");
        errors["BackupDr:Targets:0:Drill:Probes:1:Name"].ShouldContain("not a probe name");
        errors["BackupDr:Targets:0:Drill:Probes:1:Query"].ShouldContain("required");
        errors["BackupDr:Targets:0:Drill:Probes:1:Min"].ShouldContain("above Max");
        errors["BackupDr:Targets:0:Drill:Probes:1:Colour"].ShouldContain("unknown setting");
        errors[$"{Odoo}:Url"].ShouldContain("must not carry credentials");
        errors[$"{Odoo}:Login"].ShouldBe("required");
        errors[$"{Odoo}:Password"].ShouldContain("environment or a mounted configuration file");
        errors["BackupDr:Targets:0:Drill:RecencyWindow"].ShouldContain("is not a duration");
        string.Join("\n", errors.Values).ShouldNotContain("hunter2");
    }

    [Fact]
    public void Display_OdooPassword_IsMasked()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson, new Dictionary<string, string?>
        {
            [$"{Odoo}:Url"] = "http://127.0.0.1:8069", [$"{Odoo}:Login"] = "drill", [$"{Odoo}:Password"] = "s3cret-api-key",
        }));

        var shown = ConfigurationDisplay.ToJson(options).ToJsonString();

        shown.ShouldNotContain("s3cret-api-key");
        shown.ShouldContain("\"Password\":\"***\"");
    }

    [Fact]
    public void Validate_OdooWithoutUrl_AllowedOnlyWhenTheKubernetesSandboxRunsOdoo()
    {
        var odoo = new Dictionary<string, string?> { [$"{Odoo}:Login"] = "drill", [$"{Odoo}:Password"] = "s3cret-api-key" };
        var kubernetes = new Dictionary<string, string?>(odoo)
        {
            ["BackupDr:Sandbox:Kind"] = "Kubernetes", ["BackupDr:Sandbox:Kubernetes:PostgresImages:15"] = "postgres:15.8",
            ["BackupDr:Sandbox:Kubernetes:Odoo:Image"] = "odoo:17.0",
        };

        var local = Errors(odoo).ShouldHaveSingleItem();
        local.Key.ShouldBe($"{Odoo}:Url");
        local.Message.ShouldContain("Sandbox:Kubernetes:Odoo:Image");
        Errors(kubernetes).ShouldBeEmpty();
        BackupDrConfiguration.Load(Build(ValidJson, kubernetes)).Targets[0].Drill.Odoo.ShouldNotBeNull().ServedBySandbox.ShouldBeTrue();
        var withDatabase = Errors(new Dictionary<string, string?>(kubernetes) { [$"{Odoo}:Database"] = "acme" }).ShouldHaveSingleItem();
        withDatabase.Key.ShouldBe($"{Odoo}:Database");
        withDatabase.Message.ShouldContain("leave it empty when the sandbox runs Odoo");
    }
}
