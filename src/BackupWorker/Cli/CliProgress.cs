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

    /// <summary>
    /// Runs <paramref name="work"/>, showing the byte counts it reports under <paramref name="title"/>: one figure per
    /// stage, in the order the stages first reported (stages may run at the same time, as a restore's database and
    /// filestore do), each with its rate since that stage began.
    /// </summary>
    public async Task<T> RunAsync<T>(string title, Func<IProgress<(string Stage, long Bytes)>, Task<T>> work)
    {
        var started = environment.Time.GetTimestamp();
        var stages = new List<(string Name, long Started, long Bytes)>();
        string Record((string Stage, long Bytes) report)
        {
            lock (stages)
            {
                var index = stages.FindIndex(s => s.Name == report.Stage);
                if (index < 0)
                {
                    stages.Add((report.Stage, environment.Time.GetTimestamp(), report.Bytes));
                }
                else
                {
                    stages[index] = stages[index] with { Bytes = report.Bytes };
                }

                var figures = stages.Select(s =>
                {
                    var seconds = environment.Time.GetElapsedTime(s.Started).TotalSeconds;
                    return string.Create(CultureInfo.InvariantCulture, $"{s.Name} {Size(s.Bytes)} ({Size(seconds > 0 ? (long)(s.Bytes / seconds) : 0)}/s)");
                });
                return string.Create(CultureInfo.InvariantCulture,
                    $"{title}: {string.Join(", ", figures)}, {environment.Time.GetElapsedTime(started):hh\\:mm\\:ss}");
            }
        }

        if (!environment.ErrorIsTerminal)
        {
            var lastPrinted = started;
            var plain = new SynchronousProgress<(string Stage, long Bytes)>(report =>
            {
                lock (stages)
                {
                    var line = Record(report);
                    if (environment.Time.GetElapsedTime(lastPrinted) >= PlainInterval)
                    {
                        lastPrinted = environment.Time.GetTimestamp();
                        environment.Error.WriteLine(line);
                    }
                }
            });
            return await work(plain);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(environment.Error) });
        T result = default!;
        await console.Status().StartAsync(title, async context =>
        {
            result = await work(new SynchronousProgress<(string Stage, long Bytes)>(report => context.Status(Markup.Escape(Record(report)))));
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
