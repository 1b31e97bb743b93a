using BackupDr.Repository.Configuration;
using static BackupDr.Repository.Tests.Configuration.ConfigurationFixtures;

namespace BackupDr.Repository.Tests.Configuration;

public sealed class ConfigurationDisplayTests
{
    private static readonly Dictionary<string, string?> Secrets = new()
    {
        ["BackupDr:Repository:Passphrase"] = "correct-horse-battery-staple",
        ["BackupDr:Repository:Azure:ConnectionString"] = "DefaultEndpointsProtocol=https;AccountName=acmebackups;AccountKey=QUNDT1VOVEtFWVNFQ1JFVA==;EndpointSuffix=core.windows.net",
        ["BackupDr:Targets:0:ConnectionString"] = "Host=db;Database=acme;Username=backup;Password=pg-s3cr3t-pw",
        ["BackupDr:Notifications:Email:Password"] = "smtp-s3cr3t-pw",
        ["BackupDr:Notifications:Webhook:Url"] = "https://hooks.slack.com/services/T0001/B0001/webhookTOKEN42",
        ["BackupDr:Notifications:Webhook:Secret"] = "hmac-signing-secret",
    };

    [Fact]
    public void ToJson_WithSecrets_MasksEverySecret()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson, Secrets));

        var text = ConfigurationDisplay.ToJson(options).ToJsonString();

        foreach (var secret in new[] { "correct-horse", "QUNDT1VOVEtFWVNFQ1JFVA", "pg-s3cr3t-pw", "smtp-s3cr3t-pw", "webhookTOKEN42", "T0001", "hmac-signing-secret" })
        {
            text.ShouldNotContain(secret);
        }
    }

    [Fact]
    public void ToJson_WithSecrets_KeepsWhatAnOperatorNeedsToSee()
    {
        var json = ConfigurationDisplay.ToJson(BackupDrConfiguration.Load(Build(ValidJson, Secrets)));

        json["Targets"]![0]!["ConnectionString"]!.GetValue<string>().ShouldBe("host=db;database=acme;username=backup;password=***");
        json["Repository"]!["Azure"]!["ConnectionString"]!.GetValue<string>().ShouldContain("accountname=acmebackups");
        json["Notifications"]!["Webhook"]!["Url"]!.GetValue<string>().ShouldBe("https://hooks.slack.com/***");
        json["Repository"]!["Passphrase"]!.GetValue<string>().ShouldBe("***");
        json["Tiers"]!["gold"]!["Rto"]!.GetValue<string>().ShouldBe("01:00:00");
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("Host=db;Database=acme", "host=db;database=acme")]
    [InlineData("Host=db;Pwd=x1;Database=acme", "host=db;pwd=***;database=acme")]
    [InlineData("not a connection string", "***")]
    public void ConnectionString_MasksCredentialsOnly(string value, string expected) =>
        SecretMasker.ConnectionString(value).ShouldBe(expected);

    [Theory]
    [InlineData("", "")]
    [InlineData("https://s3.example.com", "https://s3.example.com/")]
    [InlineData("https://user:pw@example.com:8443/hook?token=1", "https://example.com:8443/***")]
    [InlineData("nonsense", "***")]
    public void Url_KeepsSchemeAndHostOnly(string value, string expected) => SecretMasker.Url(value).ShouldBe(expected);
}
