using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace BackupDr.Repository.Postgres;

/// <summary>What to run. Arguments are passed one by one (never through a shell), so no quoting is needed.</summary>
/// <remarks>
/// Never put a password in <see cref="Arguments"/>: arguments are visible to every local user in the process list.
/// Pass it in <see cref="Environment"/> (PGPASSWORD) or a passfile instead.
/// </remarks>
internal sealed record ChildProcessRequest(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>Defaults to "/" so a child running as another OS user never depends on our current folder.</summary>
    public string WorkingDirectory { get; init; } = "/";

    /// <summary>Variables added to (or, with a null value, removed from) the inherited environment.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// When set and this process runs as root, the tool runs as that OS user through <c>runuser -u USER --</c>
    /// (PostgreSQL's server programs refuse to run as root). Ignored when we are not root.
    /// </summary>
    public string? RunAsUser { get; init; }

    /// <summary>
    /// Runs the tool in a session of its own (<c>setsid -w</c>, where util-linux's setsid is installed), so that it
    /// keeps its full CPU weight under Linux's per-session scheduling groups (autogroup) while this process lowers its
    /// own (<see cref="SessionCpuWeight"/>). A Ctrl-C in the terminal then reaches it through this process only.
    /// </summary>
    public bool OwnSession { get; init; }

    /// <summary>
    /// Runs the tool through coreutils' <c>stdbuf -o</c> (where it is installed) with a standard output buffer of this
    /// many bytes: a tool that writes its output through stdio (psql's COPY rows) then writes a pipe in chunks of that
    /// size instead of 4 KiB, which costs it and the reader far fewer system calls. The tool must flush what a reader
    /// waits for (psql does before it reads its next command). Null: the tool's own buffering.
    /// </summary>
    public int? StandardOutputBufferBytes { get; init; }

    /// <summary>A non-zero exit raises <see cref="ChildProcessException"/> unless this is false.</summary>
    public bool ThrowOnFailure { get; init; } = true;

    /// <summary>Upper bound of captured standard output; the rest is read and dropped.</summary>
    public int MaxStandardOutputChars { get; init; } = 1024 * 1024;

    /// <summary>
    /// Only for <see cref="RunningChildProcess"/>: standard input stays open for the caller to write commands as it goes
    /// (<see cref="RunningChildProcess.StandardInput"/>) and close, e.g. psql's. False closes it at once.
    /// </summary>
    public bool InteractiveStandardInput { get; init; }

    /// <summary>
    /// Only for <see cref="RunningChildProcess"/>: its standard output is the pipe itself, for a caller that reads it
    /// with blocking reads on a thread of its own, so that no read waits for the thread pool (which other work beside
    /// it may keep busy). False: a pump thread hands full chunks to async reads (<see cref="ChildOutputStream"/>).
    /// </summary>
    public bool BlockingStandardOutput { get; init; }

    /// <summary>Called for every standard output line (after capture), e.g. to follow progress.</summary>
    public Action<string>? OnStandardOutputLine { get; init; }

    /// <summary>The name used in messages: the file name of the tool.</summary>
    public string ToolName => Path.GetFileName(FileName);
}

/// <param name="ExitCode">The process exit code (0 is success).</param>
/// <param name="StandardOutput">Captured standard output, at most the request's bound.</param>
/// <param name="StandardErrorTail">The last <see cref="ChildProcess.StandardErrorTailChars"/> characters of stderr.</param>
internal sealed record ChildProcessResult(int ExitCode, string StandardOutput, string StandardErrorTail);

/// <summary>A child process exited with a non-zero code. The message names the tool and ends with its stderr tail.</summary>
internal sealed class ChildProcessException(string tool, int exitCode, string standardErrorTail)
    : Exception(BuildMessage(tool, exitCode, standardErrorTail))
{
    public string Tool { get; } = tool;

    public int ExitCode { get; } = exitCode;

    public string StandardErrorTail { get; } = standardErrorTail;

    private static string BuildMessage(string tool, int exitCode, string tail) =>
        string.IsNullOrWhiteSpace(tail)
            ? $"{tool} failed with exit code {exitCode} (no error output)."
            : $"{tool} failed with exit code {exitCode}: {tail.Trim()}";
}

/// <summary>Runs a program to completion: bounded capture, cancellation kills the whole process tree.</summary>
internal static class ChildProcess
{
    public const int StandardErrorTailChars = 8 * 1024;

    private const string RunUser = "/usr/sbin/runuser";

    private static readonly Lazy<string?> SetSid = new(() => Installed("setsid"));

    private static readonly Lazy<string?> StdBuf = new(() => Installed("stdbuf"));

    /// <summary>True when this process runs as root (uid 0) on Unix.</summary>
    public static bool IsRoot => !OperatingSystem.IsWindows() && System.Environment.IsPrivilegedProcess;

    /// <summary>
    /// Starts the program and waits for it to exit and for its output streams to close.
    /// </summary>
    /// <exception cref="ChildProcessException">It exited non-zero and <see cref="ChildProcessRequest.ThrowOnFailure"/>.</exception>
    /// <exception cref="OperationCanceledException">
    /// The token was cancelled: the process and all its descendants were killed (SIGKILL) and reaped first.
    /// </exception>
    public static async Task<ChildProcessResult> RunAsync(ChildProcessRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();

        using var process = new Process { StartInfo = BuildStartInfo(request) };
        var stdout = new StringBuilder();
        var stderr = new TailBuffer(StandardErrorTailChars);
        var gate = new object();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (gate)
            {
                if (stdout.Length + e.Data.Length + 1 <= request.MaxStandardOutputChars)
                {
                    stdout.Append(e.Data).Append('\n');
                }
            }

            request.OnStandardOutputLine?.Invoke(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                stderr.AppendLine(e.Data);
            }
        };

        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ChildProcessException(request.ToolName, -1, $"could not start {process.StartInfo.FileName}: {ex.Message}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            // Reap it (and let the output readers finish) before reporting the cancellation.
            await process.WaitForExitAsync(CancellationToken.None);
            throw;
        }

        string output;
        lock (gate)
        {
            output = stdout.ToString();
        }

        var result = new ChildProcessResult(process.ExitCode, output, stderr.ToString());
        if (result.ExitCode != 0 && request.ThrowOnFailure)
        {
            throw new ChildProcessException(request.ToolName, result.ExitCode, result.StandardErrorTail);
        }

        return result;
    }

    /// <summary>The path of a wrapper tool of util-linux or coreutils, or null where it is not installed.</summary>
    private static string? Installed(string tool) => new[] { "/usr/bin/" + tool, "/bin/" + tool }.FirstOrDefault(File.Exists);

    internal static ProcessStartInfo BuildStartInfo(ChildProcessRequest request)
    {
        // setsid -w [runuser -u USER --] [stdbuf -oSIZE] tool arguments: each wrapper only where asked for and installed.
        var command = new List<string>();
        if (request.OwnSession && SetSid.Value is { } setsid)
        {
            command.AddRange([setsid, "-w"]);
        }

        if (request.RunAsUser is not null && IsRoot)
        {
            command.AddRange([RunUser, "-u", request.RunAsUser, "--"]);
        }

        if (request.StandardOutputBufferBytes is { } size && StdBuf.Value is { } stdbuf)
        {
            command.AddRange([stdbuf, string.Create(CultureInfo.InvariantCulture, $"-o{size}")]);
        }

        command.Add(request.FileName);
        command.AddRange(request.Arguments);
        var info = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = request.WorkingDirectory,
            StandardInputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        // Messages from PostgreSQL tools in English, whatever the host's locale, so they can be matched and read.
        info.Environment["LC_MESSAGES"] = "C";
        foreach (var (key, value) in request.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        return info;
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited between the cancellation and the kill: nothing left to stop.
        }
    }

    /// <summary>Keeps the last <c>capacity</c> characters of the lines appended; thread-safe.</summary>
    internal sealed class TailBuffer(int capacity)
    {
        private readonly StringBuilder _text = new();
        private readonly Lock _lock = new();

        public void AppendLine(string line)
        {
            lock (_lock)
            {
                _text.Append(line).Append('\n');
                if (_text.Length > capacity)
                {
                    _text.Remove(0, _text.Length - capacity);
                }
            }
        }

        public override string ToString()
        {
            lock (_lock)
            {
                return _text.ToString();
            }
        }
    }
}
