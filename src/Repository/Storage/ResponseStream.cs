using BackupDr.Repository.Integrity;

namespace BackupDr.Repository.Storage;

/// <summary>
/// A download body: reads pass through to <paramref name="inner"/>; disposing disposes the inner stream and the
/// response that owns the connection. Failures while reading (a dropped connection) surface as the store's
/// <see cref="StorageException"/> (transient); the caller's cancellation escapes as is. Not seekable.
/// </summary>
internal sealed class ResponseStream(Stream inner, IDisposable owner, Func<Exception, StorageException?> translate) : SequentialReadStream
{

    public override int Read(Span<byte> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (Exception e) when (e is not OperationCanceledException && translate(e) is { } storage)
        {
            throw storage;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception e) when (!SdkCall.IsCallerCancellation(e, cancellationToken) && translate(e) is { } storage)
        {
            throw storage;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner.Dispose();
        }

        base.Dispose(disposing);
    }
}
