using System.Text.Json;
using BackupDr.TestSupport;

namespace BackupDr.BackupWorker.Tests.Cli;

/// <summary>The real executable, as a separate process: exit codes, stream separation and log format.</summary>
public sealed class ProcessTests
{
    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var process = CliHarness.Start(environment, args);
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await output, await error);
    }

    [Fact]
    public async Task ConfigCheck_RedirectedStandardError_LogsJsonLinesAndKeepsStdoutForTheResult()
    {
        var (exitCode, output, error) = await RunAsync(new Dictionary<string, string>(), "config", "check", "--json");

        exitCode.ShouldBe(0);
        JsonDocument.Parse(output).RootElement.GetProperty("valid").GetBoolean().ShouldBeTrue();
        var logLine = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).ShouldHaveSingleItem();
        JsonDocument.Parse(logLine).RootElement.GetProperty("TargetCount").GetInt32().ShouldBe(0);
    }

    [Fact]
    public async Task ConfigCheck_JsonLoggingOff_LogsReadableText()
    {
        var (exitCode, _, error) = await RunAsync(new Dictionary<string, string> { ["BackupDr__Logging__Json"] = "false" }, "config", "check");

        exitCode.ShouldBe(0);
        error.ShouldContain("INF Configuration valid: 0 targets, 3 tiers, Local repository, Local sandbox");
    }

    [Fact]
    public async Task Backup_InvalidEnvironment_ExitsTwo()
    {
        var (exitCode, output, error) = await RunAsync(
            new Dictionary<string, string> { ["BackupDr__Repository__Kind"] = "Azure" }, "backup", "--target", "acme-prod");

        exitCode.ShouldBe(2);
        output.ShouldBeEmpty();
        error.ShouldContain("BackupDr:Repository:Azure:Container");
    }
}
