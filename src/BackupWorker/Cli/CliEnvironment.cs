namespace BackupDr.BackupWorker.Cli;

/// <summary>What a CLI invocation may touch of its process: streams, variables, clock, base directory.
/// Tests build one in memory; <see cref="Program"/> builds the real one.</summary>
internal sealed record CliEnvironment(
    TextWriter Output,
    TextWriter Error,
    IReadOnlyDictionary<string, string> Variables,
    string BaseDirectory,
    bool ErrorIsTerminal,
    TimeProvider Time,
    bool OutputIsTerminal = false)
{
    public static CliEnvironment FromProcess() => new(
        Console.Out,
        Console.Error,
        CliConfiguration.ProcessEnvironment(),
        AppContext.BaseDirectory,
        !Console.IsErrorRedirected,
        TimeProvider.System,
        !Console.IsOutputRedirected);
}
