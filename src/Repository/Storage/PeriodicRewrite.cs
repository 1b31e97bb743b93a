namespace BackupDr.Repository.Storage;

/// <summary>The loop of objects that stay alive by being rewritten (repository locks, drill leases).</summary>
internal static class PeriodicRewrite
{
    /// <summary>
    /// Every <paramref name="interval"/> calls <paramref name="write"/> until <paramref name="stop"/> is cancelled. A
    /// storage failure does not end it: it goes to <paramref name="failed"/> and is tried again at the next interval (the
    /// object stays valid for several intervals); a later success reports null.
    /// </summary>
    public static async Task RunAsync(
        TimeSpan interval, TimeProvider time, Func<CancellationToken, Task> write, Action<string?> failed, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, stop);
                await write(stop);
                failed(null);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (StorageException e)
            {
                failed(e.Message);
            }
        }
    }
}
