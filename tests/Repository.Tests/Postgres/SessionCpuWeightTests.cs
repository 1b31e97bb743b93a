using BackupDr.Repository.Postgres;
using BackupDr.TestSupport;

namespace BackupDr.Repository.Tests.Postgres;

public sealed class SessionCpuWeightTests
{
    [Fact]
    public async Task Lower_TwoHoldersOverlap_SessionStaysLowUntilTheLastReleases()
    {
        var before = ProcFiles.SessionNice();

        var first = SessionCpuWeight.Lower();
        var second = SessionCpuWeight.Lower();
        var whileBoth = ProcFiles.SessionNice();
        SessionCpuWeight.Release();
        var whileOne = ProcFiles.SessionNice();
        SessionCpuWeight.Release();
        await SessionCpuWeight.RestoreAsync();

        second.ShouldBe(first);
        SessionCpuWeight.Lowered.ShouldBeFalse();
        ProcFiles.SessionNice().ShouldBe(before);
        if (first)
        {
            whileBoth.ShouldBe("19");
            whileOne.ShouldBe("19");
        }
        else
        {
            whileBoth.ShouldBe(before);
        }
    }
}
