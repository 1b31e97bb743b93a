using System.Diagnostics;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// A started child process whose standard output is a binary stream the caller pumps, for <c>pg_dump</c>.
/// Standard error is captured (the last 8 KiB) for the error message.
/// Disposing a process that is still running kills it with its whole tree: an abandoned pipeline never leaves
/// a <c>pg_dump</c> holding a snapshot open on a production database.
/// </summary>
internal sealed class RunningChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ChildProcess.TailBuffer _stderr = new(ChildProcess.StandardErrorTailChars);
    private readonly string _tool;
    private Stream? _output;
    private bool _interactive;

    private RunningChildProcess(Process process, string tool)
    {
        _process = process;
        _tool = tool;
    }

    /// <summary>The child's standard output, raw bytes (see <see cref="ChildProcessRequest.BlockingStandardOutput"/>). Owned by this object.</summary>
    public Stream StandardOutput => _output!;

    /// <summary>The child's standard input, open only with <see cref="ChildProcessRequest.InteractiveStandardInput"/>.</summary>
    public StreamWriter StandardInput => _interactive ? _process.StandardInput : throw new InvalidOperationException("standard input is not interactive");

    public int ProcessId => _process.Id;

    public string StandardErrorTail => _stderr.ToString();

    /// <summary>
    /// Starts the program; its standard input is closed, or stays open for the caller (see
    /// <see cref="ChildProcessRequest.InteractiveStandardInput"/>).
    /// </summary>
    public static RunningChildProcess Start(ChildProcessRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var process = new Process { StartInfo = ChildProcess.BuildStartInfo(request) };
        var running = new RunningChildProcess(process, request.ToolName);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                running._stderr.AppendLine(e.Data);
            }
        };

        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            throw new ChildProcessException(request.ToolName, -1, $"could not start {process.StartInfo.FileName}: {ex.Message}");
        }

        running._interactive = request.InteractiveStandardInput;
        if (!running._interactive)
        {
            process.StandardInput.Close();
        }

        running._output = request.BlockingStandardOutput
            ? process.StandardOutput.BaseStream
            : new ChildOutputStream(process.StandardOutput.BaseStream, request.ToolName);
        process.BeginErrorReadLine();
        return running;
    }

    /// <summary>
    /// Waits for the exit. A non-zero exit raises <see cref="ChildProcessException"/> with the stderr tail;
    /// cancellation kills the process tree, reaps it, and rethrows.
    /// </summary>
    public async Task WaitForSuccessAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
            throw;
        }

        if (_process.ExitCode != 0)
        {
            throw new ChildProcessException(_tool, _process.ExitCode, _stderr.ToString());
        }
    }

    /// <summary>Kills the process tree if it still runs; safe to call at any time.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill: nothing left to stop.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync(CancellationToken.None);
        if (_output is not null)
        {
            await _output.DisposeAsync();
        }

        _process.Dispose();
    }
}
