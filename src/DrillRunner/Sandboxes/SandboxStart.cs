namespace BackupDr.DrillRunner.Sandboxes;

/// <summary>
/// A sandbox's server start, at most once: it runs beside the download with a token that both the drill and the
/// teardown can cancel. Teardown stops a start still running and waits for it: its failure, if any, is already the
/// drill's finding (or was caused by the teardown), never the teardown's.
/// </summary>
internal sealed class SandboxStart : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _task;

    public bool Succeeded => _task is { IsCompletedSuccessfully: true };

    public bool Faulted => _task is { IsFaulted: true };

    public Task Run(string sandboxId, Func<CancellationToken, Task> start, CancellationToken cancellationToken)
    {
        if (_task is not null)
        {
            throw new InvalidOperationException($"sandbox {sandboxId} is already started");
        }

        _task = RunAsync(start, cancellationToken);
        return _task;
    }

    private async Task RunAsync(Func<CancellationToken, Task> start, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        await start(linked.Token);
    }

    public async Task StopAsync()
    {
        if (_task is not null)
        {
            await _stop.CancelAsync();
            await _task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _stop.Dispose();
}
