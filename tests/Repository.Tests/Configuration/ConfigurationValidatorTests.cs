using BackupDr.Repository.Configuration;
using static BackupDr.Repository.Tests.Configuration.ConfigurationFixtures;

namespace BackupDr.Repository.Tests.Configuration;

/// <summary>One test per rule: each names the key and why, and nothing else goes wrong.</summary>
public sealed class ConfigurationValidatorTests
{
    private static ConfigurationError SingleError(params (string Key, string? Value)[] overrides)
    {
        var errors = Errors(overrides.ToDictionary(o => o.Key, o => o.Value));
        return errors.ShouldHaveSingleItem();
    }

    [Fact]
    public void Validate_ValidConfiguration_HasNoErrors() => Errors(new Dictionary<string, string?>()).ShouldBeEmpty();

    [Fact]
    public void Validate_UnknownTier_NamesTierAndKnownTiers()
    {
        var error = SingleError(("BackupDr:Targets:0:Tier", "platinum"));

        error.Key.ShouldBe("BackupDr:Targets:0:Tier");
        error.Message.ShouldBe("unknown tier 'platinum' (known tiers: gold)");
    }

    [Fact]
    public void Validate_DuplicateTargetName_NamesBothEntries()
    {
        var error = SingleError(
            ("BackupDr:Targets:1:Name", "acme-prod"), ("BackupDr:Targets:1:Tenant", "acme"), ("BackupDr:Targets:1:Environment", "staging"),
            ("BackupDr:Targets:1:Tier", "gold"), ("BackupDr:Targets:1:ConnectionString", "Host=db;Database=acme2"),
            ("BackupDr:Targets:1:FilestorePath", "/fs/acme2"), ("BackupDr:Targets:1:BackupSchedule", "0 0 2 * * ?"));

        error.Key.ShouldBe("BackupDr:Targets:1:Name");
        error.Message.ShouldContain("duplicate target name 'acme-prod' (also Targets:0)");
    }

    [Theory]
    [InlineData("Acme_Prod")]
    [InlineData("-acme")]
    [InlineData("a-target-name-that-is-far-too-long-for-a-label")]
    public void Validate_BadTargetName_IsRejected(string name) =>
        SingleError(("BackupDr:Targets:0:Name", name)).Key.ShouldBe("BackupDr:Targets:0:Name");

    [Theory]
    [InlineData("BackupSchedule", "0 0 1 * *")]
    [InlineData("BackupSchedule", "every night")]
    [InlineData("DrillSchedule", "0 61 3 ? * SUN")]
    public void Validate_BadCron_NamesScheduleAndFormat(string field, string cron)
    {
        var error = SingleError(($"BackupDr:Targets:0:{field}", cron));

        error.Key.ShouldBe($"BackupDr:Targets:0:{field}");
        error.Message.ShouldContain($"'{cron}' is not a valid Quartz cron expression");
        error.Message.ShouldContain("seconds minutes hours");
    }

    [Fact]
    public void Validate_MissingBackupSchedule_IsRequired() =>
        SingleError(("BackupDr:Targets:0:BackupSchedule", "")).Message.ShouldStartWith("required");

    [Theory]
    [InlineData("Rto", "-01:00:00", "not a positive duration")]
    [InlineData("Rpo", "00:00:00", "not a positive duration")]
    [InlineData("DrillEvery", "a week", "is not a duration")]
    [InlineData("Rto", "", "required")]
    public void Validate_BadDuration_NamesTierField(string field, string value, string expected)
    {
        var error = SingleError(($"BackupDr:Tiers:gold:{field}", value));

        error.Key.ShouldBe($"BackupDr:Tiers:gold:{field}");
        error.Message.ShouldContain(expected);
    }

    [Fact]
    public void Validate_NegativeRetention_IsRejected() =>
        SingleError(("BackupDr:Tiers:gold:Retention:Weekly", "-1")).Key.ShouldBe("BackupDr:Tiers:gold:Retention:Weekly");

    [Fact]
    public void Validate_RetentionKeepingNothing_IsRejected()
    {
        var error = SingleError(("BackupDr:Tiers:gold:Retention:Daily", "0"), ("BackupDr:Tiers:gold:Retention:Weekly", "0"),
            ("BackupDr:Tiers:gold:Retention:Monthly", "0"));

        error.Key.ShouldBe("BackupDr:Tiers:gold:Retention");
    }

    [Fact]
    public void Validate_S3WithoutBucket_NamesBucket()
    {
        var error = SingleError(("BackupDr:Repository:Kind", "S3"), ("BackupDr:Repository:S3:Region", "eu-west-1"));

        error.Key.ShouldBe("BackupDr:Repository:S3:Bucket");
        error.Message.ShouldBe("required for an S3 repository");
    }

    [Fact]
    public void Validate_S3BadBucketAndNoEndpoint_ReportsBoth()
    {
        var errors = Errors(new Dictionary<string, string?> { ["BackupDr:Repository:Kind"] = "s3", ["BackupDr:Repository:S3:Bucket"] = "Bad_Bucket" });

        errors.Select(e => e.Key).ShouldBe(["BackupDr:Repository:S3:Bucket", "BackupDr:Repository:S3:Region"], ignoreOrder: true);
    }

    [Fact]
    public void Validate_S3EndpointWithCredentials_IsRejectedWithoutEchoingThem()
    {
        var error = SingleError(("BackupDr:Repository:Kind", "S3"), ("BackupDr:Repository:S3:Bucket", "backups"),
            ("BackupDr:Repository:S3:ServiceUrl", "https://AKIA:topsecret@s3.example.com"));

        error.Key.ShouldBe("BackupDr:Repository:S3:ServiceUrl");
        error.ToString().ShouldNotContain("topsecret");
    }

    [Fact]
    public void Validate_S3PrefixWithDotDot_IsRejected() =>
        SingleError(("BackupDr:Repository:Kind", "S3"), ("BackupDr:Repository:S3:Bucket", "backups"),
            ("BackupDr:Repository:S3:Region", "eu-west-1"), ("BackupDr:Repository:S3:Prefix", "fleet/../other"))
            .Key.ShouldBe("BackupDr:Repository:S3:Prefix");

    [Fact]
    public void Validate_AzureWithoutContainerOrEndpoint_ReportsBoth()
    {
        var errors = Errors(new Dictionary<string, string?> { ["BackupDr:Repository:Kind"] = "Azure" });

        errors.Select(e => e.Key).ShouldBe(["BackupDr:Repository:Azure:Container", "BackupDr:Repository:Azure:ConnectionString"], ignoreOrder: true);
    }

    [Fact]
    public void Validate_AzureWithConnectionString_IsValid() =>
        Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Repository:Kind"] = "Azure",
            ["BackupDr:Repository:Azure:Container"] = "odoo-backups",
            ["BackupDr:Repository:Azure:ConnectionString"] = "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0;",
        }).ShouldBeEmpty();

    [Fact]
    public void Validate_AzureWithServiceUriAlone_IsValid() =>
        Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Repository:Kind"] = "Azure",
            ["BackupDr:Repository:Azure:Container"] = "odoo-backups",
            ["BackupDr:Repository:Azure:ServiceUri"] = "https://acmebackups.blob.core.windows.net",
        }).ShouldBeEmpty();

    [Fact]
    public void Validate_AzureServiceUriOverHttpWithoutConnectionString_IsRejected() =>
        SingleError(("BackupDr:Repository:Kind", "Azure"), ("BackupDr:Repository:Azure:Container", "odoo-backups"),
                ("BackupDr:Repository:Azure:ServiceUri", "http://acmebackups.blob.core.windows.net"))
            .ShouldBe(new("BackupDr:Repository:Azure:ServiceUri", "must be https: an Azure identity's token is sent over TLS only"));

    [Fact]
    public void Validate_AzureWithServiceUriAndConnectionString_AsksForOne() =>
        SingleError(("BackupDr:Repository:Kind", "Azure"), ("BackupDr:Repository:Azure:Container", "odoo-backups"),
                ("BackupDr:Repository:Azure:ServiceUri", "https://acmebackups.blob.core.windows.net"),
                ("BackupDr:Repository:Azure:ConnectionString", "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0;"))
            .Key.ShouldBe("BackupDr:Repository:Azure:ServiceUri");

    [Fact]
    public void Validate_LocalWithoutPath_NamesPath() =>
        SingleError(("BackupDr:Repository:Path", "")).Key.ShouldBe("BackupDr:Repository:Path");

    [Fact]
    public void Validate_UnknownKind_ListsKinds()
    {
        var error = SingleError(("BackupDr:Repository:Kind", "Ftp"));

        error.Key.ShouldBe("BackupDr:Repository:Kind");
        error.Message.ShouldBe("'Ftp' is not one of Local, S3, Azure");
    }

    [Fact]
    public void Validate_NumericEnum_IsRejected() =>
        SingleError(("BackupDr:Sandbox:Kind", "1")).Key.ShouldBe("BackupDr:Sandbox:Kind");

    [Fact]
    public void Validate_MisspelledKey_IsReported()
    {
        var error = SingleError(("BackupDr:Targets:0:BackupSchedul", "0 0 1 * * ?"));

        error.Key.ShouldBe("BackupDr:Targets:0:BackupSchedul");
        error.Message.ShouldStartWith("unknown setting");
    }

    [Fact]
    public void Validate_UnknownSection_IsReported() =>
        SingleError(("BackupDr:Repositroy:Kind", "S3")).Key.ShouldBe("BackupDr:Repositroy");

    [Fact]
    public void Validate_MalformedConnectionString_DoesNotEchoIt()
    {
        var error = SingleError(("BackupDr:Targets:0:ConnectionString", "Host=db;Password=hunter2;Bogus Key With Spaces=1"));

        error.Key.ShouldBe("BackupDr:Targets:0:ConnectionString");
        error.ToString().ShouldNotContain("hunter2");
    }

    [Fact]
    public void Validate_ConnectionStringWithoutDatabase_IsRejected() =>
        SingleError(("BackupDr:Targets:0:ConnectionString", "Host=db;Username=backup")).Message.ShouldBe("has no Database");

    [Fact]
    public void Validate_MissingTargetFields_AreEachRequired()
    {
        var errors = Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Targets:0:Tenant"] = "",
            ["BackupDr:Targets:0:Environment"] = "",
            ["BackupDr:Targets:0:FilestorePath"] = "",
        });

        errors.Select(e => e.Key).ShouldBe(
            ["BackupDr:Targets:0:Tenant", "BackupDr:Targets:0:Environment", "BackupDr:Targets:0:FilestorePath"], ignoreOrder: true);
    }

    [Fact]
    public void Validate_NoTiers_IsRejected()
    {
        var json = ValidJson.Replace("\"gold\": {", "\"unused\": {", StringComparison.Ordinal);
        var errors = BackupDrConfiguration.TryLoad(Build(json)).Errors;

        errors.ShouldHaveSingleItem().Message.ShouldBe("unknown tier 'gold' (known tiers: unused)");
    }

    [Fact]
    public void Validate_LocalSandboxWithoutWorkPath_IsRejected() =>
        SingleError(("BackupDr:Sandbox:WorkPath", "")).Key.ShouldBe("BackupDr:Sandbox:WorkPath");

    [Fact]
    public void Validate_EmailHostWithoutFromOrRecipients_ReportsBoth()
    {
        var errors = Errors(new Dictionary<string, string?> { ["BackupDr:Notifications:Email:Host"] = "smtp.example.com" });

        errors.Select(e => e.Key).ShouldBe(["BackupDr:Notifications:Email:From", "BackupDr:Notifications:Email:OnCall"], ignoreOrder: true);
    }

    [Fact]
    public void Validate_RecipientsWithoutHost_IsRejected() =>
        SingleError(("BackupDr:Notifications:Email:OnCall:0", "oncall@example.com")).Key.ShouldBe("BackupDr:Notifications:Email:Host");

    [Fact]
    public void Validate_BadRecipientAddress_NamesItsIndex()
    {
        var error = SingleError(("BackupDr:Notifications:Email:Host", "smtp.example.com"), ("BackupDr:Notifications:Email:From", "dr@example.com"),
            ("BackupDr:Notifications:Email:OnCall:0", "oncall@example.com"), ("BackupDr:Notifications:Email:OnCall:1", "not an address"));

        error.Key.ShouldBe("BackupDr:Notifications:Email:OnCall:1");
    }

    [Fact]
    public void Validate_RecipientListAsSingleString_IsRejected() =>
        SingleError(("BackupDr:Notifications:Email:Reports", "cfo@example.com")).Key.ShouldBe("BackupDr:Notifications:Email:Reports");

    [Fact]
    public void Validate_BadWebhookUrl_DoesNotEchoIt()
    {
        var error = SingleError(("BackupDr:Notifications:Webhook:Url", "hooks.slack.com/services/T000/B000/XXXXSECRET"));

        error.Key.ShouldBe("BackupDr:Notifications:Webhook:Url");
        error.ToString().ShouldNotContain("XXXXSECRET");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("http")]
    public void Validate_BadHttpPort_IsRejected(string port) =>
        SingleError(("BackupDr:Http:Port", port)).Key.ShouldBe("BackupDr:Http:Port");

    [Fact]
    public void Validate_BadBoolean_IsRejected() =>
        SingleError(("BackupDr:Logging:Json", "yes")).Key.ShouldBe("BackupDr:Logging:Json");

    [Fact]
    public void Validate_BothPassphraseSources_IsRejectedWithoutEchoingThePassphrase()
    {
        var file = Path.GetTempFileName();
        try
        {
            var error = SingleError(("BackupDr:Repository:PassphraseFile", file), ("BackupDr:Repository:Passphrase", "correct horse battery"));

            error.Key.ShouldBe("BackupDr:Repository:PassphraseFile");
            error.ToString().ShouldNotContain("correct horse");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Validate_MissingPassphraseFile_IsRejected() =>
        SingleError(("BackupDr:Repository:PassphraseFile", "/nonexistent/backupdr/passphrase")).Message.ShouldContain("does not exist");

    [Fact]
    public void Validate_ManyProblems_AreAllReportedAtOnce()
    {
        var errors = Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Repository:Kind"] = "S3",
            ["BackupDr:Tiers:gold:Rto"] = "-00:10:00",
            ["BackupDr:Targets:0:Tier"] = "platinum",
            ["BackupDr:Targets:0:BackupSchedule"] = "nightly",
            ["BackupDr:Http:Port"] = "-1",
        });

        errors.Select(e => e.Key).ShouldBe(
        [
            "BackupDr:Tiers:gold:Rto", "BackupDr:Repository:S3:Bucket", "BackupDr:Repository:S3:Region",
            "BackupDr:Targets:0:Tier", "BackupDr:Targets:0:BackupSchedule", "BackupDr:Http:Port",
        ], ignoreOrder: true);
    }
}
