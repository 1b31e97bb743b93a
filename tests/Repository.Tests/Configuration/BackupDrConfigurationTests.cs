using BackupDr.Repository.Configuration;
using static BackupDr.Repository.Tests.Configuration.ConfigurationFixtures;

namespace BackupDr.Repository.Tests.Configuration;

public sealed class BackupDrConfigurationTests
{
    [Fact]
    public void Load_ValidConfiguration_ReadsEveryField()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson));

        options.Repository.Kind.ShouldBe(RepositoryKind.Local);
        options.Tiers["GOLD"].Rto.ShouldBe(TimeSpan.FromHours(1));
        options.Tiers["gold"].DrillEvery.ShouldBe(TimeSpan.FromDays(7));
        options.Tiers["gold"].Retention.Monthly.ShouldBe(12);
        var target = options.Targets.ShouldHaveSingleItem();
        target.Name.ShouldBe("acme-prod");
        target.IsProduction.ShouldBeTrue();
        target.DrillSchedule.ShouldBe("0 30 3 ? * SUN");
        options.FindTarget("ACME-PROD").ShouldBe(target);
        options.Notifications.Email.IsEnabled.ShouldBeFalse();
        options.Logging.Json.ShouldBeNull();
    }

    [Fact]
    public void Load_RepositoryAppsettings_IsValid()
    {
        var json = File.ReadAllText(Path.Combine(TestSupport.TestEnvironment.RepositoryRoot, "appsettings.json"));

        BackupDrConfiguration.TryLoad(Build(json)).Errors.ShouldBeEmpty();
    }

    [Fact]
    public void Load_InvalidConfiguration_ThrowsNamingEveryField()
    {
        var configuration = Build(ValidJson, new Dictionary<string, string?>
        {
            ["BackupDr:Targets:0:Tier"] = "platinum",
            ["BackupDr:Tiers:gold:Rpo"] = "-01:00:00",
            ["BackupDr:Http:Port"] = "70000",
        });

        var exception = Should.Throw<InvalidConfigurationException>(() => BackupDrConfiguration.Load(configuration));

        exception.Errors.Count.ShouldBe(3);
        exception.Message.ShouldContain("3 problems");
        exception.Message.ShouldContain("BackupDr:Targets:0:Tier: unknown tier 'platinum' (known tiers: gold)");
        exception.Message.ShouldContain("BackupDr:Tiers:gold:Rpo");
        exception.Message.ShouldContain("BackupDr:Http:Port");
    }

    [Fact]
    public void Load_EnvironmentStyleIndexedList_ReadsInOrder()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson, new Dictionary<string, string?>
        {
            ["BackupDr:Notifications:Email:Host"] = "smtp.example.com",
            ["BackupDr:Notifications:Email:From"] = "backupdr@example.com",
            ["BackupDr:Notifications:Email:OnCall:1"] = "second@example.com",
            ["BackupDr:Notifications:Email:OnCall:0"] = "first@example.com",
        }));

        options.Notifications.Email.OnCall.ShouldBe(["first@example.com", "second@example.com"]);
    }
}
