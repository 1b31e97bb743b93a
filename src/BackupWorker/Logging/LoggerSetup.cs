using BackupDr.Repository.Configuration;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace BackupDr.BackupWorker.Logging;

/// <summary>
/// One rule for the log format: <c>BackupDr:Logging:Json</c> decides when it is set; when it is not, logs are
/// JSON lines when standard error is redirected (a container, a pipe, a file) and readable text in a terminal.
/// Logs always go to standard error, so that standard output holds only a command's result.
/// </summary>
internal static class LoggerSetup
{
    public static bool UseJson(LoggingOptions options, bool standardErrorIsTerminal) =>
        options.Json ?? !standardErrorIsTerminal;

    public static Logger Create(LoggingOptions options, bool standardErrorIsTerminal)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(ToSerilog(options.MinimumLevel))
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Quartz", LogEventLevel.Information)
            .Enrich.FromLogContext();

        return (UseJson(options, standardErrorIsTerminal)
                ? configuration.WriteTo.Console(new CompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose)
                : configuration.WriteTo.Console(
                    outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}",
                    formatProvider: System.Globalization.CultureInfo.InvariantCulture,
                    standardErrorFromLevel: LogEventLevel.Verbose))
            .CreateLogger();
    }

    private static LogEventLevel ToSerilog(LogLevelName level) => level switch
    {
        LogLevelName.Verbose => LogEventLevel.Verbose,
        LogLevelName.Debug => LogEventLevel.Debug,
        LogLevelName.Information => LogEventLevel.Information,
        LogLevelName.Warning => LogEventLevel.Warning,
        LogLevelName.Error => LogEventLevel.Error,
        _ => LogEventLevel.Fatal,
    };
}
