using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace BackupDr.TestSupport;

/// <summary>What a fixture needs to start one Node server from <c>tools/</c>.</summary>
/// <param name="Name">Short name for folders and messages, e.g. "s3rver".</param>
/// <param name="Script">The server's entry script, relative to <c>tools/</c>.</param>
/// <param name="Arguments">The server's arguments for a port and a data folder (created, empty).</param>
/// <param name="ReadyLine">Text the server prints on stdout or stderr once it listens.</param>
/// <param name="Probe">
/// Returns true once the server answers on the port. Called only after <paramref name="ReadyLine"/> was seen,
/// so that a foreign process that took the port first is not mistaken for ours.
/// </param>
public sealed record NodeServerOptions(
    string Name,
    string Script,
    Func<int, string, IEnumerable<string>> Arguments,
    string ReadyLine,
    Func<int, CancellationToken, Task<bool>> Probe)
{
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Called with the new, empty data folder before the process starts (e.g. to write a certificate).</summary>
    public Action<string>? Prepare { get; init; }
}

/// <summary>A Node server from <c>tools/</c> is not installed here (no node, or no tools/node_modules).</summary>
public sealed class NodeServerUnavailableException(string what, string howToFix)
    : Exception($"{what} is not available: {howToFix}")
{
    public string What { get; } = what;

    public string HowToFix { get; } = howToFix;
}

/// <summary>
/// One Node server process (s3rver, Azurite, the SMTP sink) on a free 127.0.0.1 port with its own temp folder.
/// The single implementation of launch, readiness and stop that every Node-based fixture uses.
/// </summary>
/// <remarks>
/// The server runs under <c>tools/servers/supervise.mjs</c> with stdin as a pipe, so it exits by itself when this
/// test process dies without disposing it. <see cref="DisposeAsync"/> sends SIGTERM, kills the process tree after
/// <see cref="NodeServerOptions.StopTimeout"/>, then deletes <see cref="DataDirectory"/>. Safe to dispose twice.
/// </remarks>
public sealed class NodeServerProcess : IAsyncDisposable
{
    private const int MaxStartAttempts = 3;
    private const int OutputLinesKept = 200;
    private const int Sigterm = 15;

    private static readonly HttpClient ProbeClient = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly NodeServerOptions _options;
    private readonly TaskCompletionSource _readyLineSeen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;
    private bool _stopped;

    private NodeServerProcess(NodeServerOptions options, Process process, int port, string dataDirectory)
    {
        _options = options;
        _process = process;
        Port = port;
        DataDirectory = dataDirectory;
    }

    public static string ToolsDirectory => Path.Combine(TestEnvironment.RepositoryRoot, "tools");

    public string Name => _options.Name;

    public int Port { get; }

    /// <summary>The server's own temp folder; deleted on dispose.</summary>
    public string DataDirectory { get; }

    public int ProcessId => _process.Id;

    /// <summary>From process start to the first successful readiness probe (of the attempt that worked).</summary>
    public TimeSpan StartupDuration { get; private set; }

    /// <summary>True once the process has ended (also after <see cref="DisposeAsync"/>).</summary>
    public bool HasExited => Volatile.Read(ref _stopped) || _process.HasExited;

    /// <summary>The last lines the server printed (stdout and stderr), for failure messages.</summary>
    public string RecentOutput
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>
    /// Starts the server and waits until it is ready. Retries on a new port when the port was taken between
    /// <see cref="TestEnvironment.FreeTcpPort"/> and the server's bind (several test assemblies run at once).
    /// </summary>
    /// <exception cref="NodeServerUnavailableException">node or the server's package is not installed.</exception>
    /// <exception cref="InvalidOperationException">The server exited or did not become ready in time.</exception>
    public static async Task<NodeServerProcess> StartAsync(NodeServerOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var node = FindNode() ?? throw new NodeServerUnavailableException(
            "Node.js (node)", "install Node.js 20 or newer, or run scripts/install-deps.sh as root");
        var script = Path.Combine(ToolsDirectory, options.Script);
        if (!File.Exists(script))
        {
            throw new NodeServerUnavailableException(
                $"{options.Name} ({Path.Combine("tools", options.Script)})",
                "run scripts/install-deps.sh (npm ci in tools/)");
        }

        var failures = new StringBuilder();
        for (var attempt = 1; attempt <= MaxStartAttempts; attempt++)
        {
            var server = Launch(options, node, script);
            try
            {
                await server.WaitUntilReadyAsync(cancellationToken);
                return server;
            }
            catch (ServerExitedException) when (attempt < MaxStartAttempts && server.RecentOutput.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                failures.AppendLine($"attempt {attempt}: port {server.Port} was taken");
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        throw new InvalidOperationException($"{options.Name} found no free port:\n{failures}");
    }

    /// <summary>A readiness probe: any HTTP answer from <c>http://127.0.0.1:{port}{path}</c> means ready.</summary>
    public static Func<int, CancellationToken, Task<bool>> HttpProbe(string path) => async (port, cancellationToken) =>
    {
        try
        {
            using var response = await ProbeClient.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"), cancellationToken);
            return true;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // the probe's own 2 s timeout
        }
    };

    /// <summary>True when something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> AcceptsConnectionsAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await StopProcessAsync();
            Volatile.Write(ref _stopped, true);
        }
        finally
        {
            _process.Dispose();
            DeleteDataDirectory();
        }
    }

    private static NodeServerProcess Launch(NodeServerOptions options, string node, string script)
    {
        var port = TestEnvironment.FreeTcpPort();
        // Unique per test process and attempt: several test assemblies may run their servers at the same time.
        var dataDirectory = Path.Combine(
            Path.GetTempPath(), "backupdr-tests", $"{options.Name}-{System.Environment.ProcessId}-{Guid.NewGuid():N}");
        var process = new Process { StartInfo = new ProcessStartInfo(node) };
        var server = new NodeServerProcess(options, process, port, dataDirectory);
        try
        {
            Directory.CreateDirectory(dataDirectory);
            options.Prepare?.Invoke(dataDirectory);

            var startInfo = process.StartInfo;
            startInfo.WorkingDirectory = dataDirectory;
            startInfo.RedirectStandardInput = true; // the watchdog pipe of supervise.mjs
            startInfo.RedirectStandardOutput = true;
            startInfo.RedirectStandardError = true;
            startInfo.UseShellExecute = false;
            startInfo.ArgumentList.Add(Path.Combine(ToolsDirectory, "servers", "supervise.mjs"));
            startInfo.ArgumentList.Add(script);
            foreach (var argument in options.Arguments(port, dataDirectory))
            {
                startInfo.ArgumentList.Add(argument);
            }

            foreach (var (key, value) in options.Environment)
            {
                startInfo.Environment[key] = value;
            }

            process.OutputDataReceived += (_, e) => server.OnOutput(e.Data);
            process.ErrorDataReceived += (_, e) => server.OnOutput(e.Data);
            process.Start();
        }
        catch
        {
            process.Dispose();
            server.DeleteDataDirectory();
            throw;
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StartTimeout);
        try
        {
            // Readiness polling with a deadline: the server tells when it listens, the probe confirms it answers.
            while (true)
            {
                if (_process.HasExited)
                {
                    await _process.WaitForExitAsync(timeout.Token); // drains the output readers
                    throw new ServerExitedException(
                        $"{Name} exited with code {_process.ExitCode} before it was ready:\n{RecentOutput}");
                }

                if (_readyLineSeen.Task.IsCompleted && await _options.Probe(Port, timeout.Token) && !_process.HasExited)
                {
                    StartupDuration = clock.GetElapsedTime(started);
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(25), clock, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"{Name} was not ready on port {Port} within {_options.StartTimeout.TotalSeconds:0} s:\n{RecentOutput}");
        }
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > OutputLinesKept)
            {
                _output.Dequeue();
            }
        }

        if (line.Contains(_options.ReadyLine, StringComparison.Ordinal))
        {
            _readyLineSeen.TrySetResult();
        }
    }

    private async Task StopProcessAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        if (!OperatingSystem.IsWindows() && NativeMethods.Kill(_process.Id, Sigterm) == 0)
        {
            using var grace = new CancellationTokenSource(_options.StopTimeout);
            try
            {
                await _process.WaitForExitAsync(grace.Token);
                return;
            }
            catch (OperationCanceledException)
            {
                // It ignored SIGTERM for the whole grace period: killed below.
            }
        }

        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            return; // exited between the check and the kill
        }

        await _process.WaitForExitAsync(CancellationToken.None);
    }

    private void DeleteDataDirectory()
    {
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone: nothing to clean.
        }
    }

    private sealed class ServerExitedException(string message) : InvalidOperationException(message);

    private static string? FindNode()
    {
        var path = System.Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, OperatingSystem.IsWindows() ? "node.exe" : "node"))
            .FirstOrDefault(File.Exists);
    }

    // DllImport rather than LibraryImport: the generated LibraryImport stub needs AllowUnsafeBlocks, and kill(2)
    // takes two ints, which need no marshalling.
    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int Kill(int pid, int signal);
    }
}
