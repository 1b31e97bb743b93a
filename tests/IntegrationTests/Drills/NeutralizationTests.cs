using BackupDr.DrillRunner.Neutralization;
using BackupDr.DrillRunner.Probes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.Repository.Drills;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Drills;

/// <summary>
/// Neutralization of a restored demo Odoo database, through <c>backupdr restore --neutralize</c> and directly, and the
/// probe that proves it (which must catch what the script missed).
/// </summary>
public sealed class NeutralizationTests(PostgresFixture postgres) : DrillScenarioTests(postgres)
{
    private static Task<T> ScalarAsync<T>(string connectionString, string sql) => DrillTests.ScalarAsync<T>(connectionString, sql);

    [Fact]
    public async Task Restore_WithNeutralize_LeavesNoMailCronOrLivePaymentAndMarksUrls()
    {
        var backupId = await Scenario.BackupAsync();
        var into = Scenario.NewDatabase();

        var result = await Scenario.RunJsonAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--into", into, "--neutralize");

        result["neutralized"]!.GetValue<bool>().ShouldBeTrue();
        result["differences"]!.AsArray().ShouldBeEmpty("the evidence is checked before neutralization changes anything");
        (await ScalarAsync<long>(into, "SELECT count(*) FROM ir_mail_server WHERE active AND smtp_host <> 'invalid'")).ShouldBe(0);
        (await ScalarAsync<long>(into, "SELECT count(*) FROM ir_mail_server WHERE active AND smtp_host = 'invalid' AND smtp_port = 1025")).ShouldBe(1);
        (await ScalarAsync<long>(into, "SELECT count(*) FROM fetchmail_server WHERE active")).ShouldBe(0);
        (await ScalarAsync<string>(into, "SELECT string_agg(d.name, ',') FROM ir_cron c JOIN ir_model_data d ON d.model = 'ir.cron' AND d.res_id = c.id WHERE c.active"))
            .ShouldBe("autovacuum_job");
        (await ScalarAsync<long>(into, "SELECT count(*) FROM payment_provider WHERE state = 'enabled'")).ShouldBe(0);
        (await ScalarAsync<long>(into, "SELECT count(*) FROM delivery_carrier WHERE prod_environment")).ShouldBe(0);
        (await ScalarAsync<string>(into, "SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'")).ShouldBe("true");
        (await ScalarAsync<string>(into, "SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'")).ShouldBe(Neutralizer.MarkedUrl);
        (await ScalarAsync<long>(into, "SELECT count(*) FROM ir_config_parameter WHERE key = 'database.enterprise_code'")).ShouldBe(0);
        var sourceUuid = await ScalarAsync<string>(Scenario.Source.ConnectionString, "SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'");
        (await ScalarAsync<string>(into, "SELECT value FROM ir_config_parameter WHERE key = 'database.uuid'")).ShouldNotBe(sourceUuid);
        (await ScalarAsync<string>(into, "SELECT value FROM ir_config_parameter WHERE key = 'backupdr.original.web.base.url'"))
            .ShouldBe(await ScalarAsync<string>(Scenario.Source.ConnectionString, "SELECT value FROM ir_config_parameter WHERE key = 'web.base.url'"));
    }

    [Fact]
    public async Task Restore_WithoutNeutralize_KeepsTheProductionSettingsAndSaysSo()
    {
        var backupId = await Scenario.BackupAsync();
        var into = Scenario.NewDatabase();

        var result = await Scenario.RunAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--into", into);

        result.ExitCode.ShouldBe(0, result.ToString());
        result.Output.ShouldContain("NOT neutralized");
        (await ScalarAsync<long>(into, "SELECT count(*) FROM ir_cron WHERE active")).ShouldBeGreaterThan(1);
    }

    [Fact]
    public async Task Probe_CronReactivatedAfterNeutralization_FailsNamingIt()
    {
        var backupId = await Scenario.BackupAsync();
        var into = Scenario.NewDatabase();
        await Scenario.RunJsonAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--into", into, "--neutralize");
        (await NeutralizationProbe.CheckAsync(into, Token)).Status.ShouldBe(ProbeStatus.Passed);

        await DrillTests.ExecuteAsync(into, "UPDATE ir_cron SET active = true WHERE cron_name = 'Mail: Email Queue Manager'", Token);
        await DrillTests.ExecuteAsync(into, "UPDATE payment_provider SET state = 'enabled' WHERE code = 'stripe'", Token);
        var result = await NeutralizationProbe.CheckAsync(into, Token);

        result.Status.ShouldBe(ProbeStatus.Failed);
        result.Details.ShouldContain("Mail: Email Queue Manager");
        result.Details.ShouldContain("stripe enabled");
    }

    [Fact]
    public async Task Neutralize_WithoutIrModelData_TurnsEveryCronOffAndPassesTheProbe()
    {
        var backupId = await Scenario.BackupAsync();
        var into = Scenario.NewDatabase();
        await Scenario.RunJsonAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--into", into);
        await DrillTests.ExecuteAsync(into, "DROP TABLE ir_model_data", Token);

        await Neutralizer.NeutralizeAsync(into, baseUrl: null, Token);

        (await ScalarAsync<long>(into, "SELECT count(*) FROM ir_cron WHERE active")).ShouldBe(0);
        (await NeutralizationProbe.CheckAsync(into, Token)).Status.ShouldBe(ProbeStatus.Passed);
    }

    [Fact]
    public async Task Neutralize_RunTwice_ChangesNothingTheSecondTime()
    {
        var backupId = await Scenario.BackupAsync();
        var into = Scenario.NewDatabase();
        await Scenario.RunJsonAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--into", into, "--neutralize");

        var again = await Neutralizer.NeutralizeAsync(into, baseUrl: null, Token);

        again.Steps.Where(s => s.Name is not ("new database.uuid" or "new database.secret") && s.Rows > 0).Select(s => s.Name).ShouldBeEmpty();
        (await ScalarAsync<long>(into, "SELECT count(*) FROM ir_mail_server WHERE smtp_host = 'invalid'")).ShouldBe(1);
    }
}
