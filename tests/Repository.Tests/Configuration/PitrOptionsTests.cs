using static BackupDr.Repository.Tests.Configuration.ConfigurationFixtures;

namespace BackupDr.Repository.Tests.Configuration;

public sealed class PitrOptionsTests
{
    [Fact]
    public void Validate_PitrEnabledWithSchedule_HasNoErrors() =>
        Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Targets:0:Pitr:Enabled"] = "true", ["BackupDr:Targets:0:Pitr:BaseBackupSchedule"] = "0 0 2 ? * SUN",
        }).ShouldBeEmpty();

    [Fact]
    public void Validate_EveryBadPitrField_IsNamedOnce()
    {
        var errors = Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Targets:0:Pitr:Enabled"] = "true",
            ["BackupDr:Targets:0:Pitr:SlotName"] = "Bad-Slot",
            ["BackupDr:Targets:0:Pitr:FlushInterval"] = "02:00:00",
            ["BackupDr:Targets:0:Pitr:MaxSlotRetainedBytes"] = "1024",
            ["BackupDr:Targets:0:Pitr:Typo"] = "x",
        });

        errors.Select(e => e.Key).Order(StringComparer.Ordinal).ShouldBe(
        [
            "BackupDr:Targets:0:Pitr:BaseBackupSchedule", "BackupDr:Targets:0:Pitr:FlushInterval", "BackupDr:Targets:0:Pitr:MaxSlotRetainedBytes",
            "BackupDr:Targets:0:Pitr:SlotName", "BackupDr:Targets:0:Pitr:Typo",
        ]);
    }

    [Fact]
    public void EffectiveSlotName_NoSlotName_DerivedFromTheTarget() =>
        new Repository.Configuration.PitrOptions().EffectiveSlotName("acme-prod").ShouldBe("backupdr_acme_prod");
}
