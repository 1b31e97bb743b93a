using BackupDr.BackupWorker.Logging;
using BackupDr.Repository.Configuration;

namespace BackupDr.BackupWorker.Tests.Logging;

public sealed class LoggerSetupTests
{
    [Theory]
    [InlineData(null, true, false)]
    [InlineData(null, false, true)]
    [InlineData(true, true, true)]
    [InlineData(false, false, false)]
    public void UseJson_SettingWinsElseTerminalDecides(bool? setting, bool terminal, bool expected) =>
        LoggerSetup.UseJson(new LoggingOptions { Json = setting }, terminal).ShouldBe(expected);
}
