using BackupDr.Repository.Configuration;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace BackupDr.BackupWorker.Logging;

/// <summary>Which standard stream a command's logs go to.</summary>
internal enum LogStream
{
    /// <summary>Every command but <c>run</c>: standard output holds only the command's result.</summary>
    StandardError,

    /// <summary><c>backupdr run</c>: a service has no result to keep apart, and a cluster's log pipeline reads standard output.</summary>
    StandardOutput,
}

/// <summary>
/// One rule for the log format: <c>BackupDr:Logging:Json</c> decides when it is set; when it is not, logs are
/// JSON lines (one compact object per line) when their stream is redirected (a container, a pipe, a file) and
/// readable text in a terminal. Commands log to standard error, so that standard output holds only their result;
/// <c>backupdr run</c> logs to standard output (see <see cref="LogStream"/>).
/// </summary>
internal static class LoggerSetup
{
    public static bool UseJson(LoggingOptions options, bool streamIsTerminal) =>
        options.Json ?? !streamIsTerminal;

    public static Logger Create(LoggingOptions options, LogStream stream, bool streamIsTerminal)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(ToSerilog(options.MinimumLevel))
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Quartz", LogEventLevel.Information)
            .Enrich.FromLogContext();

        // null: every level to standard output; Verbose: every level to standard error.
        LogEventLevel? standardErrorFrom = stream == LogStream.StandardError ? LogEventLevel.Verbose : null;
        return (UseJson(options, streamIsTerminal)
                ? configuration.WriteTo.Console(new CompactJsonFormatter(), standardErrorFromLevel: standardErrorFrom)
                : configuration.WriteTo.Console(
                    outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}",
                    formatProvider: System.Globalization.CultureInfo.InvariantCulture,
                    standardErrorFromLevel: standardErrorFrom))
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
