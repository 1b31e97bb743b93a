using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Worker;

/// <summary>
/// One real <c>backupdr run</c> process: its JSON log lines (standard output) collected as they come, its HTTP port,
/// and ways to wait on what it logs or serves. Every wait is on an observable condition, bounded by a timeout.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Task _reading;
    private readonly Task<string> _error;
    private readonly HttpClient _http;

    private WorkerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        _reading = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                _lines.Enqueue(line);
            }
        });
        _error = process.StandardError.ReadToEndAsync();
    }

    public int Port { get; }

    public int Id => _process.Id;

    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>Standard output so far: the log lines, and at the end the command's result line.</summary>
    public string Log => string.Join('\n', _lines) + (_error.IsCompletedSuccessfully && _error.Result.Length > 0 ? "\nstderr: " + _error.Result : "");

    public static WorkerProcess Start(string configPath, IReadOnlyDictionary<string, string> variables)
    {
        var port = TestEnvironment.FreeTcpPort();
        var all = new Dictionary<string, string>(variables)
        {
            ["BackupDr__Http__Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["BackupDr__Logging__Json"] = "true",
        };
        return new WorkerProcess(CliHarness.Start(all, "run", "--json", "--config", configPath), port);
    }

    /// <summary>Waits until a log line satisfies <paramref name="predicate"/> and returns it; fails if the process exits first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string? found = null;
        await Eventually.HoldsAsync(() =>
        {
            found = _lines.FirstOrDefault(predicate);
            if (found is null && _process.HasExited && _reading.IsCompleted)
            {
                throw new InvalidOperationException($"backupdr run exited ({_process.ExitCode}) before the awaited log line:\n{Log}");
            }

            return Task.FromResult(found is not null);
        }, timeout, () => $"no such log line within {timeout}:\n{Log}", cancellationToken);
        return found!;
    }

    public async Task<(int Status, string Body)> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Waits until the endpoint answers 200 and returns the body.</summary>
    public async Task<string> WaitForOkAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var body = "";
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                (var status, body) = await GetAsync(path, cancellationToken);
                return status == 200;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, timeout, () => $"{path} did not answer 200 within {timeout}; last body: {body}\n{Log}", cancellationToken);
        return body;
    }

    public async Task TerminateAsync(CancellationToken cancellationToken)
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync(cancellationToken);
    }

    public void KillHard() => _process.Kill(entireProcessTree: false);

    /// <summary>Waits for the exit within <paramref name="timeout"/>; returns the exit code and standard error (empty after a clean run).</summary>
    public async Task<(int ExitCode, string Error)> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"backupdr run did not exit within {timeout}:\n{Log}");
        }

        await _reading;
        return (_process.ExitCode, await _error);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _http.Dispose();
        _process.Dispose();
    }
}

/// <summary>Polls a condition until it holds or the timeout passes (then fails with the given description).</summary>
internal static class Eventually
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> describe, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException(describe());
            }

            await Task.Delay(Poll, cancellationToken);
        }
    }
}
