using System.Collections.Concurrent;
using System.Threading.Channels;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Filestore;

/// <summary>Counters of a filestore backup, for the manifest, the command's output and the benchmark.</summary>
/// <param name="Files">Files in the backup.</param>
/// <param name="Bytes">Their total size.</param>
/// <param name="FilesRead">Files read from the source (new content): a no-change backup reads none.</param>
/// <param name="BytesRead">Their size.</param>
/// <param name="PacksWritten">Packs uploaded by this backup.</param>
/// <param name="UploadedBytes">Stored bytes of those packs and their tables of contents.</param>
/// <param name="Packs">Packs the backup's files live in.</param>
/// <param name="StoredBytes">Stored size of those packs.</param>
/// <param name="TablesRead">Tables of contents read to find reusable blobs.</param>
internal sealed record FilestoreStats(
    long Files, long Bytes, long FilesRead, long BytesRead, int PacksWritten, long UploadedBytes, int Packs, long StoredBytes, int TablesRead);

internal sealed record FilestoreBackupResult(FilestoreIndex Index, FilestoreStats Stats);

/// <summary>
/// The filestore half of a backup. Input: the store_fname list read inside the backup's snapshot. Each referenced
/// file whose content the target's repository already holds (same keyed blob id and size) is recorded without being
/// read; the others are read once (in parallel), checked against their SHA-1 name, compressed where it pays,
/// encrypted and packed (<see cref="PackWriter"/>). Source damage (missing, altered, unreadable files) is recorded
/// in the index and does not stop the backup; any repository failure does.
/// </summary>
internal sealed class FilestoreBackup(IObjectStore store, FilestoreKeys keys, string target, FilestoreOptions options, TimeProvider time)
{
    /// <param name="root">The target's filestore folder.</param>
    /// <param name="storeFnames">Distinct store_fname values read in the backup's snapshot.</param>
    /// <param name="includeUnreferenced">Also back up files no row references.</param>
    /// <param name="known">Blobs already stored (<see cref="KnownBlobs.LoadAsync"/>).</param>
    /// <param name="progress">Receives the bytes read from the source so far.</param>
    public async Task<FilestoreBackupResult> RunAsync(
        string backupId,
        string root,
        IReadOnlyCollection<string> storeFnames,
        bool includeUnreferenced,
        KnownBlobs known,
        IProgress<long>? progress,
        CancellationToken cancellationToken)
    {
        var plan = SourceFiles.Plan(root, storeFnames, includeUnreferenced);
        var files = new List<IndexedFile>(plan.Files.Count);
        var packs = new Dictionary<string, IndexedPack>(StringComparer.Ordinal);
        var toRead = new List<SourceFile>();
        foreach (var file in plan.Files)
        {
            if (known.TryGet(keys.BlobId(file.Sha1), file.SizeBytes, out var stored))
            {
                files.Add(Indexed(file, stored.Pack, stored.Blob));
                packs.TryAdd(stored.Pack.Id, stored.Pack);
            }
            else
            {
                toRead.Add(file);
            }
        }

        var problems = new ConcurrentQueue<FileProblem>(plan.Problems);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var writer = new PackWriter(store, keys, target, options, time, stop);
        long bytesRead = 0;
        if (toRead.Count > 0)
        {
            await WriteNewAsync(root, toRead, writer, problems, read => progress?.Report(Interlocked.Add(ref bytesRead, read)), stop, cancellationToken);
        }

        foreach (var stored in writer.Stored)
        {
            files.Add(Indexed(stored.File, stored.Pack, stored.Blob));
            packs.TryAdd(stored.Pack.Id, stored.Pack);
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        var index = new FilestoreIndex
        {
            Target = target,
            BackupId = backupId,
            Files = files,
            Packs = [.. packs.Values.OrderBy(p => p.Id, StringComparer.Ordinal)],
            Problems = [.. problems.OrderBy(p => p.Name, StringComparer.Ordinal)],
            UnreferencedFiles = plan.UnreferencedFiles,
            UnreferencedBytes = plan.UnreferencedBytes,
        };
        var stats = new FilestoreStats(
            files.Count, files.Sum(f => f.SizeBytes), writer.Stored.Count, writer.Stored.Sum(s => s.File.SizeBytes), writer.PacksWritten,
            writer.UploadedBytes, index.Packs.Count, index.Packs.Sum(p => p.SizeBytes), known.TablesRead);
        return new FilestoreBackupResult(index, stats);
    }

    private async Task WriteNewAsync(
        string root, List<SourceFile> toRead, PackWriter writer, ConcurrentQueue<FileProblem> problems, Action<long> read,
        CancellationTokenSource stop, CancellationToken cancellationToken)
    {
        // Small files are read in name order by several readers and queued for the one packer; the queue is short so
        // that memory holds a few files, not the filestore.
        var queue = Channel.CreateBounded<PreparedBlob>(new BoundedChannelOptions(options.ReadParallelism) { SingleReader = true });
        var packing = writer.PackAsync(queue.Reader, stop.Token);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.ReadParallelism, CancellationToken = stop.Token };
        try
        {
            await Parallel.ForEachAsync(toRead, parallel, async (file, token) =>
            {
                try
                {
                    if (file.SizeBytes >= options.LargeFileBytes)
                    {
                        await writer.StoreAloneAsync(root, file, token);
                    }
                    else
                    {
                        var blob = await BlobReader.ReadSmallAsync(root, file, keys, token);
                        try
                        {
                            await queue.Writer.WriteAsync(blob, token);
                        }
                        catch
                        {
                            blob.Dispose();
                            throw;
                        }
                    }

                    read(file.SizeBytes);
                }
                catch (SourceFileException e)
                {
                    problems.Enqueue(new FileProblem(file.Name, e.Kind, e.Message));
                }
            });
            queue.Writer.Complete();
        }
        catch (Exception e)
        {
            queue.Writer.TryComplete(e);
            await stop.CancelAsync();
            await Task.WhenAny(packing);
            while (queue.Reader.TryRead(out var left))
            {
                left.Dispose();
            }

            // When the packer failed first, the readers only saw its cancellation: its failure is the cause.
            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested && packing.Exception?.InnerException is { } cause)
            {
                throw Backups.UploadFailure.Rethrow(cause);
            }

            throw;
        }

        await packing;
    }

    private static IndexedFile Indexed(SourceFile file, IndexedPack pack, PackedBlob blob) =>
        new(file.Name, file.Sha1, file.SizeBytes, blob.Id, pack.Id, blob.Offset, blob.Length, blob.Codec, file.Referenced);
}
