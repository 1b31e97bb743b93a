using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace BackupDr.Repository.Storage;

/// <summary>What a service offers <see cref="MultipartPut"/>: a one-request upload and a multipart session.</summary>
/// <remarks>Implementations translate SDK errors into <see cref="StorageException"/>s and do not retry.</remarks>
internal interface IPartUploader
{
    /// <summary>Uploads a whole (small) object in one request.</summary>
    Task PutWholeAsync(PartBuffer content, CancellationToken cancellationToken);

    /// <summary>Starts a multipart upload; nothing is visible until <see cref="IPartUpload.CompleteAsync"/>.</summary>
    Task<IPartUpload> BeginAsync(CancellationToken cancellationToken);
}

internal interface IPartUpload
{
    /// <summary>Uploads part <paramref name="partNumber"/> (1-based); may be called concurrently and repeated for a part.</summary>
    Task UploadPartAsync(int partNumber, PartBuffer part, CancellationToken cancellationToken);

    /// <summary>Makes parts 1..<paramref name="partCount"/> the object, atomically.</summary>
    Task CompleteAsync(int partCount, CancellationToken cancellationToken);

    /// <summary>Discards the uploaded parts. Best effort; called once, after every part request has ended.</summary>
    Task AbortAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Multipart inside Put: reads a non-seekable source of unknown length into pooled part buffers, hashing as it
/// goes; an object shorter than two parts goes up in one request; longer ones go up in parts, at most
/// <see cref="ObjectStoreSettings.MaxConcurrency"/> at a time while the next part is read (so at most
/// MaxConcurrency + 1 buffers exist), each part retried from its buffer by <see cref="RetryPolicy"/>. On any failure
/// or cancellation the in-flight parts are stopped and awaited, the upload is aborted, and the first real error
/// escapes (<see cref="OperationCanceledException"/> unwrapped when the caller cancelled).
/// </summary>
internal sealed partial class MultipartPut(ObjectStoreSettings settings, PartLimits limits, RetryPolicy retry, string location)
{
    public async Task<PutResult> RunAsync(ObjectKey key, Stream source, IPartUploader uploader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var parts = new Queue<PartBuffer>(2);
        try
        {
            parts.Enqueue(await PartBuffer.ReadAsync(source, PartSize(1), hash, cancellationToken));
            if (parts.Peek().IsFull)
            {
                // Read one part ahead: an object of exactly one part still goes up in one request.
                parts.Enqueue(await PartBuffer.ReadAsync(source, PartSize(2), hash, cancellationToken));
            }

            if (parts.Count == 1 || parts.Last().Length == 0)
            {
                using var whole = parts.Dequeue();
                await retry.ExecuteAsync("put", token => uploader.PutWholeAsync(whole, token), cancellationToken);
                return new PutResult(key, whole.Length, Convert.ToHexStringLower(hash.GetCurrentHash()));
            }

            var size = await UploadPartsAsync(key, source, uploader, parts, hash, cancellationToken);
            return new PutResult(key, size, Convert.ToHexStringLower(hash.GetCurrentHash()));
        }
        finally
        {
            while (parts.TryDequeue(out var left))
            {
                left.Dispose();
            }
        }
    }

    private long PartSize(int partNumber) => PartSizing.PartSizeBytes(partNumber, settings.PartSizeBytes, limits);

    private async Task<long> UploadPartsAsync(
        ObjectKey key, Stream source, IPartUploader uploader, Queue<PartBuffer> parts, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var upload = await retry.ExecuteAsync("begin multipart upload", uploader.BeginAsync, cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var slots = new SemaphoreSlim(settings.MaxConcurrency);
        var inFlight = new List<Task>();
        var partCount = 0;
        long size = 0;
        try
        {
            while (parts.TryPeek(out var part))
            {
                if (partCount == limits.MaxParts)
                {
                    throw new StorageException(
                        location, key, $"object exceeds {PartSizing.MaxObjectSizeBytes(settings.PartSizeBytes, limits)} bytes, the most {limits.MaxParts} parts can hold here", isTransient: false);
                }

                await slots.WaitAsync(stop.Token);
                parts.Dequeue();
                partCount++;
                size += part.Length;
                var wasFull = part.IsFull;
                inFlight.Add(UploadPartAsync(upload, partCount, part, slots, stop));
                if (parts.Count > 0 || !wasFull)
                {
                    continue;
                }

                var next = await PartBuffer.ReadAsync(source, PartSize(partCount + 1), hash, stop.Token);
                if (next.Length == 0)
                {
                    next.Dispose();
                    break;
                }

                parts.Enqueue(next);
            }

            await Task.WhenAll(inFlight);
            var total = partCount;
            await retry.ExecuteAsync("complete multipart upload", token => upload.CompleteAsync(total, token), cancellationToken);
            return size;
        }
        catch (Exception failure)
        {
            // Not swallowed: rethrown below. The parts still running are stopped and awaited first, so that no part
            // lands after the abort and every buffer is back in the pool.
            await stop.CancelAsync();
            await Task.WhenAll(inFlight).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await AbortAsync(key, upload);
            var error = FirstRealError(failure, inFlight, cancellationToken);
            if (ReferenceEquals(error, failure))
            {
                throw;
            }

            ExceptionDispatchInfo.Throw(error);
            throw;
        }
    }

    private async Task UploadPartAsync(IPartUpload upload, int partNumber, PartBuffer part, SemaphoreSlim slots, CancellationTokenSource stop)
    {
        try
        {
            await retry.ExecuteAsync($"upload part {partNumber}", token => upload.UploadPartAsync(partNumber, part, token), stop.Token);
        }
        catch (Exception) when (!stop.IsCancellationRequested)
        {
            // Rethrown: this only tells the reading loop and the other parts to stop.
            await stop.CancelAsync();
            throw;
        }
        finally
        {
            part.Dispose();
            slots.Release();
        }
    }

    private async Task AbortAsync(ObjectKey key, IPartUpload upload)
    {
        // The caller's token may have fired already: aborting gets its own time limit.
        using var timeout = new CancellationTokenSource(settings.AbortTimeout, settings.TimeProvider);
        try
        {
            await upload.AbortAsync(timeout.Token);
        }
        catch (Exception e) when (e is StorageException or OperationCanceledException)
        {
            // The original failure matters more; a left-over upload is what lifecycle rules (S3) or the service's
            // garbage collection of uncommitted blocks (Azure) clean up. Say so in the log.
            LogAbortFailed(settings.Logger, location, key.Value, e.Message);
        }
    }

    /// <summary>
    /// The error to report: the caller's cancellation as is; otherwise a part's own error rather than the
    /// cancellation it caused in the reading loop.
    /// </summary>
    private static Exception FirstRealError(Exception failure, List<Task> inFlight, CancellationToken cancellationToken)
    {
        if (failure is not OperationCanceledException || cancellationToken.IsCancellationRequested)
        {
            return failure;
        }

        return inFlight
            .Where(t => t.IsFaulted)
            .Select(t => t.Exception!.InnerException!)
            .FirstOrDefault(e => e is not OperationCanceledException) ?? failure;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not abort the failed multipart upload of {Key} in {Location}: {Error}")]
    private static partial void LogAbortFailed(ILogger logger, string location, string key, string error);
}
