using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using BackupDr.Repository.Compression;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <summary>
/// Writes and reads the objects of a backup: plaintext -> compression -> segmented AES-256-GCM -> object store, all
/// streamed with bounded memory (no temporary copy). A write that fails or is cancelled leaves nothing visible: the
/// store aborts the upload, and an encrypting stream that was never completed never writes its final segment.
/// </summary>
internal static class BackupObjects
{
    public const string CipherSuffix = ".aesgcm";

    /// <summary>Bytes the pipe between the pipeline and the upload may hold before the producer waits.</summary>
    private const long PipeBufferBytes = 8L << 20;

    /// <summary>
    /// Stores what <paramref name="produce"/> writes (plaintext) as object <paramref name="name"/> of a backup, under
    /// its layout key (name, codec suffix, cipher suffix).
    /// <paramref name="produce"/> must write everything and return; it must not dispose the stream it is given.
    /// </summary>
    public static async Task<ManifestObject> WriteAsync(
        IObjectStore store,
        string target,
        BackupId backupId,
        string name,
        Codec codec,
        DataKey dataKey,
        CompressionSettings compression,
        Func<Stream, CancellationToken, Task> produce,
        CancellationToken cancellationToken)
    {
        var key = RepositoryLayout.Object(target, backupId, name, codec.Suffix() + CipherSuffix);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: PipeBufferBytes, resumeWriterThreshold: PipeBufferBytes / 2, useSynchronizationContext: false));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var upload = UploadAsync(store, key, pipe.Reader, cancel);
        long plainBytes;
        try
        {
            await using var toUpload = pipe.Writer.AsStream(leaveOpen: true);
            await using var encrypting = new EncryptingStream(toUpload, dataKey, name, leaveOpen: true);
            await using var compressing = CompressionStreams.Compress(encrypting, codec, compression, leaveOpen: true);
            await produce(compressing, cancel.Token);
            await compressing.CompleteAsync(cancel.Token);
            await encrypting.CompleteAsync(cancel.Token);
            plainBytes = compressing.UncompressedLength;
        }
        catch (Exception producerFailure)
        {
            // Stop the upload (it aborts and publishes nothing), then report the first cause: when the upload failed
            // first, the producer only saw our cancellation, and the upload's exception is the one that explains.
            await pipe.Writer.CompleteAsync(producerFailure);
            await cancel.CancelAsync();
            var uploadFailure = await FailureOfAsync(upload);
            if (producerFailure is OperationCanceledException && !cancellationToken.IsCancellationRequested
                && uploadFailure is not null and not OperationCanceledException)
            {
                ExceptionDispatchInfo.Throw(uploadFailure);
            }

            throw;
        }

        await pipe.Writer.CompleteAsync();
        var stored = await upload;
        return new ManifestObject(name, key.Value, codec.Name(), stored.SizeBytes, stored.Sha256Hex, plainBytes);
    }

    /// <summary>
    /// Opens a stored object for reading its plaintext. Every byte is authenticated as it is read; the stored
    /// object's size and SHA-256 are checked against the manifest at the end, so read it to its end (or call
    /// <see cref="VerifyingReadStream.VerifyToEndAsync"/>). Damage raises <see cref="CorruptObjectException"/>.
    /// </summary>
    public static async Task<Stream> OpenReadAsync(IObjectStore store, ManifestObject entry, DataKey dataKey, CancellationToken cancellationToken)
    {
        if (!CodecNames.TryParse(entry.Codec, out var codec))
        {
            throw new CorruptObjectException(entry.Key, $"unknown codec '{entry.Codec}'");
        }

        var stored = await store.OpenReadAsync(ObjectKey.Parse(entry.Key), cancellationToken);
        var verifying = new VerifyingReadStream(stored, new ObjectDigest(entry.SizeBytes, entry.Sha256), entry.Key);
        var decrypting = new DecryptingStream(verifying, dataKey, entry.Name, entry.Key);
        return CompressionStreams.Decompress(decrypting, codec, entry.Key);
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
