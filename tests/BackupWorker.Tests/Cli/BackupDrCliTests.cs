namespace BackupDr.BackupWorker.Tests.Cli;

public sealed class BackupDrCliTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public static TheoryData<string> Verbs =>
    [
        "config check", "repo init", "repo passwd", "backup", "list", "verify", "restore", "drill",
        "report", "prune", "alert test", "audit verify", "run",
    ];

    public void Dispose() => _cli.Dispose();

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Help_EveryVerb_ExitsZeroAndDescribesItsOptions(string verb)
    {
        var result = await _cli.RunAsync([.. verb.Split(' '), "--help"]);

        result.ExitCode.ShouldBe(0);
        result.Output.ShouldContain($"backupdr {verb} [options]");
        result.Output.ShouldContain("--json");
        result.Output.ShouldContain("--config <FILE>");
    }

    [Fact]
    public async Task Help_Root_ListsEveryVerb()
    {
        var result = await _cli.RunAsync("--help");

        result.ExitCode.ShouldBe(0);
        foreach (var verb in new[] { "config", "repo", "backup", "list", "verify", "restore", "drill", "report", "prune", "alert", "audit", "run" })
        {
            result.Output.ShouldContain($"  {verb} ");
        }
    }

    [Theory]
    [InlineData("restore", "--target <NAME> (REQUIRED)", "--into <CONNSTRING>", "--filestore-into <DIR>", "--force", "--jobs <N>", "--no-check", "--neutralize", "--backup <ID|latest>")]
    [InlineData("drill", "--target <NAME> (REQUIRED)", "--backup <ID|latest|sample>")]
    [InlineData("report", "--month <YYYY-MM> (REQUIRED)", "--out <DIR>", "--send")]
    [InlineData("prune", "--target <NAME>", "--apply")]
    [InlineData("verify", "--target <NAME> (REQUIRED)", "--backup <ID|latest>")]
    public async Task Help_Verb_ShowsContractOptions(string verb, params string[] options)
    {
        var result = await _cli.RunAsync(verb, "--help");

        foreach (var option in options)
        {
            result.Output.ShouldContain(option);
        }
    }

    [Fact]
    public async Task Restore_NeitherIntoNorFilestoreInto_ExitsTwoSayingWhatToGive()
    {
        var config = _cli.WriteConfig(CliRunner.ValidConfig);

        var result = await _cli.RunAsync("restore", "--target", "acme-prod", "--config", config);

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("--into CONNSTRING (the database), --filestore-into DIR (the filestore), or both");
    }

    [Fact]
    public async Task Run_UsageErrorWithJson_WritesOneJsonDocument()
    {
        var config = _cli.WriteConfig(CliRunner.ValidConfig);

        var result = await _cli.RunAsync("report", "--month", "2099-01", "--config", config, "--json");

        result.ExitCode.ShouldBe(2);
        result.Json["ok"]!.GetValue<bool>().ShouldBeFalse();
        result.Json["exitCode"]!.GetValue<int>().ShouldBe(2);
        result.Json["error"]!.GetValue<string>().ShouldContain("--month 2099-01 has not begun yet");
    }

    [Theory]
    [InlineData("drill", "--target", "acme-prod", "--backup", "sample")]
    [InlineData("restore", "--target", "acme-prod", "--into", "Host=localhost;Database=copy", "--neutralize")]
    public async Task Run_DrillOrNeutralizedRestoreWithoutPassphrase_ExitsTwoBeforeAnySandbox(params string[] args)
    {
        var sandboxes = Path.Combine(Path.GetTempPath(), "backupdr-nosandbox-" + Guid.NewGuid().ToString("N"));
        var config = _cli.WriteConfig(CliRunner.ValidConfig.Replace("/tmp/backupdr-tests/sandboxes", sandboxes, StringComparison.Ordinal));

        var result = await _cli.RunAsync([.. args, "--config", config, "--json"]);

        result.ExitCode.ShouldBe(2);
        result.Json["error"]!.GetValue<string>().ShouldContain("no repository passphrase");
        Directory.Exists(sandboxes).ShouldBeFalse();
    }

    [Fact]
    public async Task Drill_KubernetesSandboxWithoutImages_ExitsTwoNamingTheKey()
    {
        var config = _cli.WriteConfig(CliRunner.ValidConfig.Replace("\"Kind\": \"Local\", \"WorkPath\"", "\"Kind\": \"Kubernetes\", \"WorkPath\"", StringComparison.Ordinal));

        var result = await _cli.RunAsync("drill", "--target", "acme-prod", "--config", config);

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("BackupDr:Sandbox:Kubernetes:PostgresImages");
    }

    [Theory]
    [InlineData("backupx")]
    [InlineData("backup")]
    [InlineData("backup", "--target")]
    [InlineData("restore", "--target", "acme-prod", "--into", "Host=x;Database=y")]
    [InlineData("verify", "--target", "acme-prod", "--backup", "sample")]
    [InlineData("verify", "--target", "acme-prod", "--backup", "../../etc")]
    [InlineData("report", "--month", "2026-13")]
    [InlineData("report", "--month", "November")]
    [InlineData("list", "--bogus")]
    [InlineData]
    public async Task Run_BadArguments_ExitsTwo(params string[] args)
    {
        var result = await _cli.RunAsync(args);

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldStartWith("error: ");
    }

    [Fact]
    public async Task Run_BadArgumentsWithJson_ReportsErrorAsJson()
    {
        var result = await _cli.RunAsync("report", "--month", "2026-13", "--json");

        result.ExitCode.ShouldBe(2);
        result.Json["error"]!.GetValue<string>().ShouldContain("--month: '2026-13' is not a month");
    }

    [Fact]
    public async Task Run_UnknownTarget_ExitsTwoListingConfiguredTargets()
    {
        var config = _cli.WriteConfig(CliRunner.ValidConfig);

        var result = await _cli.RunAsync("backup", "--target", "globex", "--config", config);

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("no target named 'globex'; configured targets: acme-prod");
    }

    [Fact]
    public async Task ConfigCheck_DefaultAppsettings_IsValid()
    {
        var result = await _cli.RunAsync("config", "check");

        result.ExitCode.ShouldBe(0);
        result.Output.ShouldContain("The configuration is valid");
    }

    [Fact]
    public async Task ConfigCheck_Json_PrintsEffectiveConfiguration()
    {
        var config = _cli.WriteConfig(CliRunner.ValidConfig);

        var result = await _cli.RunAsync("config", "check", "--config", config, "--json");

        result.ExitCode.ShouldBe(0);
        result.Json["valid"]!.GetValue<bool>().ShouldBeTrue();
        var effective = result.Json["configuration"]!["BackupDr"]!;
        effective["Targets"]![0]!["Name"]!.GetValue<string>().ShouldBe("acme-prod");
        effective["Repository"]!["Path"]!.GetValue<string>().ShouldBe("/tmp/backupdr-tests/repository");
        effective["Tiers"]!["silver"].ShouldNotBeNull("tiers of appsettings.json stay under a --config file");
    }

    [Fact]
    public async Task ConfigCheck_EnvironmentVariables_OverrideConfigFile()
    {
        var config = _cli.WriteConfig(CliRunner.ValidConfig);
        _cli.Variables["BackupDr__Repository__Kind"] = "S3";
        _cli.Variables["BackupDr__Repository__S3__Region"] = "eu-west-1";

        var result = await _cli.RunAsync("config", "check", "--config", config, "--json");

        result.ExitCode.ShouldBe(2);
        var error = result.Json["errors"]!.AsArray().ShouldHaveSingleItem()!;
        error["key"]!.GetValue<string>().ShouldBe("BackupDr:Repository:S3:Bucket");
    }

    [Fact]
    public async Task ConfigCheck_InvalidFile_ExitsTwoNamingEveryBadField()
    {
        var config = _cli.WriteConfig(CliRunner.ValidConfig
            .Replace("\"Tier\": \"gold\"", "\"Tier\": \"platinum\"", StringComparison.Ordinal)
            .Replace("0 0 1 * * ?", "nightly", StringComparison.Ordinal)
            .Replace("\"Name\": \"acme-prod\"", "\"Name\": \"Acme Prod\"", StringComparison.Ordinal));

        var result = await _cli.RunAsync("config", "check", "--config", config);

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("The configuration is invalid (3 problems)");
        result.Error.ShouldContain("BackupDr:Targets:0:Tier: unknown tier 'platinum'");
        result.Error.ShouldContain("BackupDr:Targets:0:BackupSchedule: 'nightly' is not a valid Quartz cron expression");
        result.Error.ShouldContain("BackupDr:Targets:0:Name: 'Acme Prod' is not a valid target name");
        result.Output.ShouldBeEmpty();
    }

    [Fact]
    public async Task AnyVerb_InvalidConfiguration_ExitsTwoBeforeDoingAnything()
    {
        _cli.Variables["BackupDr__Http__Port"] = "99999";

        var result = await _cli.RunAsync("list");

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("BackupDr:Http:Port: 99999 is not a TCP port");
        result.Error.ShouldNotContain("not implemented");
    }

    [Fact]
    public async Task ConfigCheck_Secrets_AreMaskedInOutputAndErrors()
    {
        var config = _cli.WriteConfig(CliRunner.ValidConfig.Replace(
            "Username=backup", "Username=backup;Password=pg-top-secret", StringComparison.Ordinal));
        _cli.Variables["BackupDr__Repository__Passphrase"] = "repo-passphrase-secret";
        _cli.Variables["BackupDr__Notifications__Webhook__Url"] = "https://hooks.slack.com/services/T1/B1/hook-secret";
        _cli.Variables["BackupDr__Notifications__Webhook__Secret"] = "hmac-secret";

        var valid = await _cli.RunAsync("config", "check", "--config", config);
        _cli.Variables["BackupDr__Notifications__Email__Password"] = "smtp-secret";
        _cli.Variables["BackupDr__Notifications__Webhook__Url"] = "not-a-url-hook-secret";
        var invalid = await _cli.RunAsync("config", "check", "--config", config, "--json");

        valid.ExitCode.ShouldBe(0);
        invalid.ExitCode.ShouldBe(2);
        foreach (var text in new[] { valid.Output, valid.Error, invalid.Output, invalid.Error })
        {
            foreach (var secret in new[] { "pg-top-secret", "repo-passphrase-secret", "hook-secret", "hmac-secret", "smtp-secret" })
            {
                text.ShouldNotContain(secret);
            }
        }

        valid.Output.ShouldContain("password=***");
    }

    [Fact]
    public async Task ConfigCheck_MissingConfigFile_ExitsTwo()
    {
        var result = await _cli.RunAsync("config", "check", "--config", "/nonexistent/backupdr.json");

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("--config: file '/nonexistent/backupdr.json' does not exist");
    }

    [Fact]
    public async Task ConfigCheck_MalformedJson_ExitsTwoNamingTheFile()
    {
        var config = _cli.WriteConfig("{ \"BackupDr\": { \"Http\": { \"Port\": 8080, } ");

        var result = await _cli.RunAsync("config", "check", "--config", config);

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain(config);
    }

    [Fact]
    public async Task Backup_NoPassphraseConfigured_ExitsTwoSayingWhereToPutIt()
    {
        var config = _cli.WriteConfig(CliRunner.ValidConfig);

        var result = await _cli.RunAsync("backup", "--target", "acme-prod", "--config", config);

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("no repository passphrase: set BackupDr:Repository:PassphraseFile");
    }

    [Fact]
    public async Task Backup_NoRepository_ExitsTwoSayingToInitOne()
    {
        var repository = Path.Combine(Path.GetTempPath(), "backupdr-none-" + Guid.NewGuid().ToString("N"));
        var config = _cli.WriteConfig(CliRunner.ValidConfig.Replace("/tmp/backupdr-tests/repository", repository, StringComparison.Ordinal));
        _cli.Variables["BackupDr__Repository__Passphrase"] = "a long enough passphrase";

        var result = await _cli.RunAsync("backup", "--target", "acme-prod", "--config", config);

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain($"no repository at {repository}: create one with 'backupdr repo init'");
    }

    [Fact]
    public async Task RepoPasswd_WithoutNewPassphraseFile_ExitsTwo()
    {
        var result = await _cli.RunAsync("repo", "passwd");

        result.ExitCode.ShouldBe(2);
        result.Error.ShouldContain("--new-passphrase-file");
    }

    [Fact]
    public async Task List_EmptyRepository_ListsNothing()
    {
        var repository = Path.Combine(Path.GetTempPath(), "backupdr-empty-" + Guid.NewGuid().ToString("N"));
        var config = _cli.WriteConfig(CliRunner.ValidConfig.Replace("/tmp/backupdr-tests/repository", repository, StringComparison.Ordinal));

        var result = await _cli.RunAsync("list", "--config", config, "--json");

        result.ExitCode.ShouldBe(0);
        result.Json["backups"]!.AsArray().ShouldBeEmpty();
    }
}
