namespace BackupDr.Repository.Storage;

/// <summary>
/// The one rule for SDK failures at the store edge: the caller's own cancellation escapes as is; any other failure
/// (even one that happens after the token fired) is translated into the project's <see cref="StorageException"/>
/// family when the store recognises it.
/// </summary>
internal static class SdkCall
{
    public static bool IsCallerCancellation(Exception e, CancellationToken cancellationToken) =>
        e is OperationCanceledException && cancellationToken.IsCancellationRequested;

    /// <summary>Runs one SDK request; <paramref name="translate"/> returns null for a failure that is not the store's.</summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> request, Func<Exception, StorageException?> translate, CancellationToken cancellationToken)
    {
        try
        {
            return await request();
        }
        catch (Exception e) when (!IsCallerCancellation(e, cancellationToken) && translate(e) is { } storage)
        {
            throw storage;
        }
    }
}
