using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Compression;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Filestore;

/// <summary>Where one backed-up file's content went.</summary>
internal sealed record StoredBlob(SourceFile File, string BlobId, IndexedPack Pack, PackedBlob Blob);

/// <summary>
/// Writes new filestore content into packs: small files are appended, in arrival order, to one open pack until the
/// next would push its stored size past the target; the full pack is then completed in the background while the next
/// one fills, with at most <see cref="Configuration.FilestoreOptions.UploadParallelism"/> packs in flight (each holds
/// one part buffer in the store, so memory stays bounded). A large file is streamed alone into a pack of its own.
/// After the store confirms a pack, its table of contents is written: only then are its blobs reported as stored.
/// A failed or cancelled pack is aborted; packs confirmed before a failure stay, and a later backup reuses them.
/// </summary>
internal sealed class PackWriter(
    IObjectStore store, FilestoreKeys keys, string target, Configuration.FilestoreOptions options, TimeProvider time, CancellationTokenSource stop) : IDisposable
{
    private const long PipeBufferBytes = 1 << 20;
    private const int ChunkBytes = 1 << 20;

    private readonly SemaphoreSlim _slots = new(options.UploadParallelism);

    /// <summary>
    /// Large files have slots of their own: a reader waiting for a slot held by the open pack, which waits for that
    /// reader's small files, would deadlock. A large upload may hold several part buffers, so fewer run at once.
    /// </summary>
    private readonly SemaphoreSlim _aloneSlots = new(Math.Max(1, options.UploadParallelism / 2));
    private readonly List<Task> _completing = [];
    private readonly ConcurrentQueue<StoredBlob> _stored = new();
    private long _uploadedBytes;
    private int _packsWritten;

    public IReadOnlyCollection<StoredBlob> Stored => _stored;

    /// <summary>Stored bytes of the packs and tables of contents written.</summary>
    public long UploadedBytes => Interlocked.Read(ref _uploadedBytes);

    public int PacksWritten => Volatile.Read(ref _packsWritten);

    /// <summary>Packs every blob <paramref name="blobs"/> yields, then waits for every pack to be confirmed.</summary>
    public async Task PackAsync(ChannelReader<PreparedBlob> blobs, CancellationToken cancellationToken)
    {
        OpenPack? current = null;
        try
        {
            await foreach (var blob in blobs.ReadAllAsync(cancellationToken))
            {
                using (blob)
                {
                    if (current is not null
                        && EncryptedObjectFormat.CiphertextLength(current.Upload.PlaintextLength + blob.Stored.Length) > options.PackTargetSizeBytes)
                    {
                        _completing.Add(CompleteAsync(current, cancellationToken));
                        current = null;
                    }

                    current ??= await OpenAsync(cancellationToken);
                    current.Blobs.Add((blob.File, new PackedBlob(blob.BlobId, current.Upload.PlaintextLength, blob.Stored.Length, blob.File.SizeBytes, blob.Codec.Name())));
                    await current.Upload.Plaintext.WriteAsync(blob.Stored, current.Upload.Token);
                }
            }

            if (current is not null)
            {
                _completing.Add(CompleteAsync(current, cancellationToken));
                current = null;
            }
        }
        catch (Exception e)
        {
            if (current is not null)
            {
                await current.Upload.FailAsync(e, cancellationToken);
                await current.Upload.DisposeAsync();
                current.Slot.Release();
            }

            await stop.CancelAsync();

            // Wait for the packs in flight (they abort on the cancellation); their outcome is examined below.
            await Task.WhenAll(_completing.Select(t => t.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)));

            // When a pack's upload failed first, the packer only saw the cancellation that followed: report the cause.
            var cause = _completing.Select(t => t.Exception?.InnerException).FirstOrDefault(x => x is not null and not OperationCanceledException);
            if (e is OperationCanceledException && cause is not null)
            {
                throw UploadFailure.Rethrow(cause);
            }

            throw;
        }

        await Task.WhenAll(_completing);
    }

    /// <summary>Streams a large file alone into its own pack, checking its size and SHA-1 on the way.</summary>
    /// <exception cref="SourceFileException">The file is missing, unreadable or not what its name says; nothing was stored.</exception>
    public async Task StoreAloneAsync(string root, SourceFile file, CancellationToken cancellationToken)
    {
        await _aloneSlots.WaitAsync(cancellationToken);
        var pack = Open(_aloneSlots);
        try
        {
            var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
            try
            {
                await using var source = BlobReader.Open(Path.Combine(root, file.Name));
                using var sha1 = OdooSha1.CreateIncremental();
                var read = await ReadChunkAsync(source, buffer, cancellationToken);
                var codec = BlobReader.ChooseCodec(buffer.AsSpan(0, read));
                await using var compressing = CompressionStreams.Compress(pack.Upload.Plaintext, codec, new CompressionSettings(workers: 0), leaveOpen: true);
                long total = 0;
                while (read > 0)
                {
                    sha1.AppendData(buffer, 0, read);
                    await compressing.WriteAsync(buffer.AsMemory(0, read), pack.Upload.Token);
                    total += read;
                    read = await ReadChunkAsync(source, buffer, cancellationToken);
                }

                if (total != file.SizeBytes)
                {
                    throw new SourceFileException(FileProblemKind.ContentMismatch, $"its size changed from {file.SizeBytes} to {total} bytes while the backup read it");
                }

                BlobReader.CheckSha1(file, sha1.GetHashAndReset(), total);
                await compressing.CompleteAsync(pack.Upload.Token);
                pack.Blobs.Add((file, new PackedBlob(keys.BlobId(file.Sha1), 0, pack.Upload.PlaintextLength, total, codec.Name())));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (Exception e)
        {
            var failure = await pack.Upload.FailAsync(e, cancellationToken);
            await pack.Upload.DisposeAsync();
            _aloneSlots.Release();
            throw UploadFailure.Rethrow(failure);
        }

        await CompleteAsync(pack, cancellationToken);
    }

    private async Task<OpenPack> OpenAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        return Open(_slots);
    }

    private OpenPack Open(SemaphoreSlim slot)
    {
        var id = FilestoreLayout.NewPackId(time);
        return new OpenPack(id, slot, EncryptedUpload.Start(store, FilestoreLayout.Pack(target, id), FilestoreLayout.PackObjectName(id), keys.PackKey, PipeBufferBytes, stop.Token));
    }

    /// <summary>Ends the pack, waits for the store, writes the table of contents, then reports the blobs stored.</summary>
    private async Task CompleteAsync(OpenPack open, CancellationToken cancellationToken)
    {
        try
        {
            var plainBytes = open.Upload.PlaintextLength;
            var put = await open.Upload.CompleteAsync(cancellationToken);
            var pack = new IndexedPack(open.Id, put.Key.Value, put.SizeBytes, put.Sha256Hex, plainBytes);
            var toc = new PackToc { Target = target, Pack = pack, CreatedAt = time.GetUtcNow(), Blobs = open.Blobs.Select(b => b.Blob).ToList() };
            var tocBytes = FilestoreJson.Serialize(toc);
            PutResult tocPut;
            await using (var upload = EncryptedUpload.Start(store, FilestoreLayout.Toc(target, open.Id), FilestoreLayout.TocObjectName(open.Id), keys.PackKey, PipeBufferBytes, stop.Token))
            {
                try
                {
                    await using var compressing = CompressionStreams.Compress(upload.Plaintext, Codec.Zstd, new CompressionSettings(workers: 0), leaveOpen: true);
                    await compressing.WriteAsync(tocBytes, upload.Token);
                    await compressing.CompleteAsync(upload.Token);
                }
                catch (Exception e)
                {
                    throw UploadFailure.Rethrow(await upload.FailAsync(e, cancellationToken));
                }

                tocPut = await upload.CompleteAsync(cancellationToken);
            }

            Interlocked.Add(ref _uploadedBytes, put.SizeBytes + tocPut.SizeBytes);
            Interlocked.Increment(ref _packsWritten);
            foreach (var (file, blob) in open.Blobs)
            {
                _stored.Enqueue(new StoredBlob(file, blob.Id, pack, blob));
            }
        }
        catch
        {
            // One failed pack fails the backup: stop the readers and the other uploads at once.
            await stop.CancelAsync();
            throw;
        }
        finally
        {
            await open.Upload.DisposeAsync();
            open.Slot.Release();
        }
    }

    private static async Task<int> ReadChunkAsync(FileStream source, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            var total = 0;
            int read;
            while (total < ChunkBytes && (read = await source.ReadAsync(buffer.AsMemory(total, ChunkBytes - total), cancellationToken)) > 0)
            {
                total += read;
            }

            return total;
        }
        catch (IOException e)
        {
            throw new SourceFileException(FileProblemKind.Unreadable, $"reading it failed: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        _slots.Dispose();
        _aloneSlots.Dispose();
    }

    private sealed class OpenPack(string id, SemaphoreSlim slot, EncryptedUpload upload)
    {
        public string Id { get; } = id;

        /// <summary>The upload slot this pack holds until it is confirmed or aborted.</summary>
        public SemaphoreSlim Slot { get; } = slot;

        public EncryptedUpload Upload { get; } = upload;

        public List<(SourceFile File, PackedBlob Blob)> Blobs { get; } = [];
    }
}
