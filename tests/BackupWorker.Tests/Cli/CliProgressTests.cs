using BackupDr.BackupWorker.Cli;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.BackupWorker.Tests.Cli;

public sealed class CliProgressTests
{
    [Fact]
    public async Task RunAsync_RedirectedWithStagesAtTheSameTime_PrintsEveryStageWithItsOwnRate()
    {
        var time = new FakeTimeProvider();
        var error = new StringWriter();
        var environment = new CliEnvironment(TextWriter.Null, error, new Dictionary<string, string>(), ".", ErrorIsTerminal: false, time);

        var result = await new CliProgress(environment).RunAsync("restore acme/1", progress =>
        {
            progress.Report(("download", 10L << 20));
            time.Advance(TimeSpan.FromSeconds(2));
            progress.Report(("filestore", 4L << 20));
            time.Advance(TimeSpan.FromSeconds(2));
            progress.Report(("download", 40L << 20));
            time.Advance(TimeSpan.FromSeconds(2));
            progress.Report(("filestore", 16L << 20));
            return Task.FromResult(42);
        });

        result.ShouldBe(42);
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Printed at most every 5 s: the report at 6 s, with both figures (the download's last one at 4 s).
        lines.ShouldHaveSingleItem().ShouldBe("restore acme/1: download 40.0 MiB (6.7 MiB/s), filestore 16.0 MiB (4.0 MiB/s), 00:00:06");
    }
}
