using System.Diagnostics;
using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Cli;
using Xunit;

namespace BackupDr.TestSupport;

/// <summary>What one <c>backupdr</c> invocation printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public JsonObject Json => JsonNode.Parse(Output)!.AsObject();

    public string All => Output + Error;

    public override string ToString() => $"exit {ExitCode}\nstdout: {Output}\nstderr: {Error}";
}

/// <summary>Runs the real <c>backupdr</c> command line, in-process (fast) or as a separate process.</summary>
public static class CliHarness
{
    /// <summary>In-process, with the given environment variables and the repository's appsettings.json.</summary>
    public static async Task<CliResult> RunAsync(IReadOnlyDictionary<string, string> variables, TimeProvider time, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var environment = new CliEnvironment(output, error, variables, TestEnvironment.RepositoryRoot, ErrorIsTerminal: false, time);
        var exitCode = await new BackupDrCli(environment).RunAsync(args, TestContext.Current.CancellationToken);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Starts <c>dotnet backupdr.dll ARGS</c> with only the given BackupDr variables (others are removed).</summary>
    public static Process Start(IReadOnlyDictionary<string, string> variables, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(typeof(BackupDrCli).Assembly.Location);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("BackupDr__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach (var (key, value) in variables)
        {
            start.Environment[key] = value;
        }

        return Process.Start(start)!;
    }
}
