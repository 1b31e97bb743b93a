using BackupDr.Repository.Postgres;

namespace BackupDr.Repository.Tests.Postgres;

public sealed class SessionCpuWeightTests
{
    [Fact]
    public async Task Lower_TwoHoldersOverlap_SessionStaysLowUntilTheLastReleases()
    {
        var before = SessionNice();

        var first = SessionCpuWeight.Lower();
        var second = SessionCpuWeight.Lower();
        var whileBoth = SessionNice();
        SessionCpuWeight.Release();
        var whileOne = SessionNice();
        SessionCpuWeight.Release();
        await SessionCpuWeight.RestoreAsync();

        second.ShouldBe(first);
        SessionCpuWeight.Lowered.ShouldBeFalse();
        SessionNice().ShouldBe(before);
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

    private static string SessionNice()
    {
        var line = File.ReadAllText("/proc/self/autogroup").Trim();
        return line[(line.LastIndexOf(' ') + 1)..];
    }
}
