namespace BackupDr.Repository.Progress;

/// <summary>
/// Reports on the caller's thread, in order. <see cref="System.Progress{T}"/> posts each report to the thread pool, so
/// reports arrive late and out of order, and after the work has returned.
/// </summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
