using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <summary>
/// One encrypted object on its way to the store: plaintext written to <see cref="Plaintext"/> is encrypted (segmented
/// AES-256-GCM under <c>name</c>) into a pipe that <see cref="IObjectStore.PutAsync"/> reads beside the writer
/// (create-only). <see cref="CompleteAsync"/> writes the final segment and returns what the store received. An upload
/// that is failed or disposed without completing is aborted, and nothing becomes visible.
/// </summary>
internal sealed class EncryptedUpload : IAsyncDisposable
{
    private readonly Pipe _pipe;
    private readonly Stream _toUpload;
    private readonly EncryptingStream _encrypting;
    private readonly CancellationTokenSource _cancel;
    private readonly Task<PutResult> _upload;
    private bool _finished;

    private EncryptedUpload(IObjectStore store, ObjectKey key, string name, DataKey dataKey, long pipeBufferBytes, CancellationToken cancellationToken)
    {
        Key = key;
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: pipeBufferBytes, resumeWriterThreshold: pipeBufferBytes / 2, useSynchronizationContext: false));
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _toUpload = _pipe.Writer.AsStream(leaveOpen: true);
        _encrypting = new EncryptingStream(_toUpload, dataKey, name, leaveOpen: true);
        _upload = UploadAsync(store, key, _pipe.Reader, _cancel);
    }

    public ObjectKey Key { get; }

    /// <summary>Where the plaintext goes; do not dispose it.</summary>
    public Stream Plaintext => _encrypting;

    public long PlaintextLength => _encrypting.PlaintextLength;

    /// <summary>Cancelled when the caller cancels or the upload fails: a producer should write with this token.</summary>
    public CancellationToken Token => _cancel.Token;

    /// <param name="pipeBufferBytes">Encrypted bytes the pipe may hold before the writer waits for the store.</param>
    public static EncryptedUpload Start(
        IObjectStore store, ObjectKey key, string name, DataKey dataKey, long pipeBufferBytes, CancellationToken cancellationToken) =>
        new(store, key, name, dataKey, pipeBufferBytes, cancellationToken);

    /// <summary>Ends the object and waits until the store has it whole.</summary>
    public async Task<PutResult> CompleteAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _encrypting.CompleteAsync(cancellationToken);
        }
        catch (Exception e)
        {
            throw await FailAsync(e, cancellationToken);
        }

        _finished = true;
        await _pipe.Writer.CompleteAsync();
        return await _upload;
    }

    /// <summary>
    /// Aborts the upload after the producer failed with <paramref name="producerFailure"/>, and returns the exception
    /// that explains: when the upload failed first, the producer only saw our cancellation, and the upload's exception
    /// is the cause. Throw the result (<c>throw await upload.FailAsync(e, token)</c>).
    /// </summary>
    public async Task<Exception> FailAsync(Exception producerFailure, CancellationToken cancellationToken)
    {
        _finished = true;
        await _pipe.Writer.CompleteAsync(producerFailure);
        await _cancel.CancelAsync();
        var uploadFailure = await FailureOfAsync(_upload);
        return producerFailure is OperationCanceledException && !cancellationToken.IsCancellationRequested
            && uploadFailure is not null and not OperationCanceledException
            ? uploadFailure
            : producerFailure;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_finished)
        {
            await FailAsync(new OperationCanceledException("the upload was abandoned"), CancellationToken.None);
        }

        await _encrypting.DisposeAsync();
        await _toUpload.DisposeAsync();
        _cancel.Dispose();
    }

    /// <summary>The exception a finished task ended with, or null when it succeeded.</summary>
    private static async Task<Exception?> FailureOfAsync(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static async Task<PutResult> UploadAsync(IObjectStore store, ObjectKey key, PipeReader reader, CancellationTokenSource cancel)
    {
        // Yield first so the producer starts at once; the upload runs beside it.
        await Task.Yield();
        try
        {
            await using var source = reader.AsStream(leaveOpen: true);
            return await store.PutAsync(key, source, PutOptions.CreateOnly, cancel.Token);
        }
        catch
        {
            // The producer must stop at once rather than fill a pipe nobody reads.
            await cancel.CancelAsync();
            throw;
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }
}

/// <summary>Rethrows an exception returned by <see cref="EncryptedUpload.FailAsync"/> with its own stack trace.</summary>
internal static class UploadFailure
{
    public static Exception Rethrow(Exception failure)
    {
        ExceptionDispatchInfo.Throw(failure);
        return failure;
    }
}
