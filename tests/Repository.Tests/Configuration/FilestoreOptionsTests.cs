using BackupDr.Repository.Configuration;
using static BackupDr.Repository.Tests.Configuration.ConfigurationFixtures;

namespace BackupDr.Repository.Tests.Configuration;

public sealed class FilestoreOptionsTests
{
    [Fact]
    public void Load_FilestoreSectionAndIncludeUnreferencedFiles_AreRead()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson, new Dictionary<string, string?>
        {
            ["BackupDr:Filestore:PackTargetSizeBytes"] = "33554432",
            ["BackupDr:Filestore:ReadParallelism"] = "8",
            ["BackupDr:Filestore:UploadParallelism"] = "6",
            ["BackupDr:Filestore:DownloadParallelism"] = "12",
            ["BackupDr:Filestore:PackGracePeriod"] = "1.00:00:00",
            ["BackupDr:Targets:0:IncludeUnreferencedFiles"] = "true",
        }));

        options.Filestore.ShouldBe(new FilestoreOptions
        {
            PackTargetSizeBytes = 32 << 20, ReadParallelism = 8, UploadParallelism = 6, DownloadParallelism = 12, PackGracePeriod = TimeSpan.FromDays(1),
        });
        options.Filestore.LargeFileBytes.ShouldBe(8 << 20);
        options.Targets[0].IncludeUnreferencedFiles.ShouldBeTrue();
    }

    [Fact]
    public void Load_NoFilestoreSection_UsesDefaults()
    {
        var options = BackupDrConfiguration.Load(Build(ValidJson));

        options.Filestore.ShouldBe(new FilestoreOptions());
        options.Filestore.PackTargetSizeBytes.ShouldBe(16 << 20);
        options.Targets[0].IncludeUnreferencedFiles.ShouldBeFalse();
    }

    [Fact]
    public void Validate_BadFilestoreSettings_NamesEveryField() =>
        Errors(new Dictionary<string, string?>
        {
            ["BackupDr:Filestore:PackTargetSizeBytes"] = "1000",
            ["BackupDr:Filestore:ReadParallelism"] = "0",
            ["BackupDr:Filestore:UploadParallelism"] = "65",
            ["BackupDr:Filestore:DownloadParallelism"] = "0",
            ["BackupDr:Filestore:PackGracePeriod"] = "00:01:00",
            ["BackupDr:Filestore:PackSize"] = "1",
            ["BackupDr:Targets:0:IncludeUnreferencedFiles"] = "sometimes",
        }).Select(e => e.Key).ShouldBe(
        [
            "BackupDr:Filestore:PackSize", "BackupDr:Targets:0:IncludeUnreferencedFiles",
            "BackupDr:Filestore:PackTargetSizeBytes", "BackupDr:Filestore:ReadParallelism", "BackupDr:Filestore:UploadParallelism",
            "BackupDr:Filestore:DownloadParallelism", "BackupDr:Filestore:PackGracePeriod",
        ], ignoreOrder: true);
}
