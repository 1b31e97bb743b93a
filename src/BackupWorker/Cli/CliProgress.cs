using System.Globalization;
using BackupDr.Repository.Progress;
using Spectre.Console;

namespace BackupDr.BackupWorker.Cli;

/// <summary>
/// Progress of long work, on standard error (standard output stays for the result): a live Spectre.Console line in a
/// terminal, a plain line every few seconds when redirected (a log file, a container).
/// </summary>
internal sealed class CliProgress(CliEnvironment environment)
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    /// <summary>Runs <paramref name="work"/>, showing the byte count it reports under <paramref name="title"/>.</summary>
    public async Task<T> RunAsync<T>(string title, Func<IProgress<(string Stage, long Bytes)>, Task<T>> work)
    {
        var started = environment.Time.GetTimestamp();
        string Describe(string stage, long bytes)
        {
            var elapsed = environment.Time.GetElapsedTime(started);
            var rate = elapsed.TotalSeconds > 0 ? bytes / elapsed.TotalSeconds : 0;
            return string.Create(CultureInfo.InvariantCulture,
                $"{title}: {stage} {Size(bytes)}, {Size((long)rate)}/s, {elapsed:hh\\:mm\\:ss}");
        }

        if (!environment.ErrorIsTerminal)
        {
            var lastPrinted = started;
            var plain = new SynchronousProgress<(string Stage, long Bytes)>(report =>
            {
                if (environment.Time.GetElapsedTime(lastPrinted) >= PlainInterval)
                {
                    lastPrinted = environment.Time.GetTimestamp();
                    environment.Error.WriteLine(Describe(report.Stage, report.Bytes));
                }
            });
            return await work(plain);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(environment.Error) });
        T result = default!;
        await console.Status().StartAsync(title, async context =>
        {
            result = await work(new SynchronousProgress<(string Stage, long Bytes)>(report => context.Status(Markup.Escape(Describe(report.Stage, report.Bytes)))));
        });
        return result;
    }

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
