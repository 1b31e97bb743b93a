using System.Buffers;
using BackupDr.Repository.Compression;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;
using Microsoft.Win32.SafeHandles;

namespace BackupDr.Repository.Filestore;

/// <summary>One file whose content failed a check on restore or verify.</summary>
internal sealed record FileDamage(string Name, string Pack, string Problem);

/// <summary>
/// Reads a pack once, front to back (object stores have no cheap random access, and a restore needs most of a pack
/// anyway), handing each wanted file's decompressed content to a consumer, and reads the pack to its end so that its
/// stored size and SHA-256 are checked as well as every segment's authentication.
/// </summary>
internal static class PackReader
{
    private const int SkipBytes = 1 << 20;

    /// <summary>
    /// Calls <paramref name="consume"/> for each of <paramref name="files"/> (all in <paramref name="pack"/>) in offset
    /// order with a stream of its plaintext. The consumer reads what it needs; the rest is skipped. A damaged pack raises <see cref="CorruptObjectException"/> (a missing one
    /// <see cref="ObjectNotFoundException"/>); files before the damage have been handed over already.
    /// </summary>
    public static async Task ReadAsync(
        IObjectStore store,
        FilestoreKeys keys,
        IndexedPack pack,
        IReadOnlyList<IndexedFile> files,
        Func<IndexedFile, Stream, CancellationToken, Task> consume,
        IProgress<long>? packBytes,
        CancellationToken cancellationToken)
    {
        var ordered = files.OrderBy(f => f.Offset).ToList();
        var skip = ArrayPool<byte>.Shared.Rent(SkipBytes);
        try
        {
            await using var plain = await FilestoreObjects.OpenPackAsync(store, keys, pack, cancellationToken);
            long position = 0;
            foreach (var file in ordered)
            {
                if (file.Offset < position || file.Offset + file.Length > pack.PlainSizeBytes)
                {
                    throw new CorruptObjectException(pack.Key, $"the index places {file.Name} at {file.Offset}+{file.Length}, outside the pack or overlapping another file");
                }

                position += await SkipAsync(plain, file.Offset - position, skip, cancellationToken);
                if (!CodecNames.TryParse(file.Codec, out var codec))
                {
                    throw new CorruptObjectException(pack.Key, $"unknown codec '{file.Codec}' for {file.Name}");
                }

                var window = new WindowStream(plain, file.Length);
                await using (var content = CompressionStreams.Decompress(window, codec, pack.Key + BlobSuffix(file), leaveOpen: true))
                {
                    await consume(file, content, cancellationToken);
                }

                position += file.Length - window.Remaining;
                position += await SkipAsync(plain, window.Remaining, skip, cancellationToken);
                packBytes?.Report(file.Length);
            }

            // Read to the end: the stored size and SHA-256 are checked there.
            var rest = await SkipAsync(plain, long.MaxValue, skip, cancellationToken);
            if (position + rest != pack.PlainSizeBytes)
            {
                throw new CorruptObjectException(pack.Key, $"it decoded to {position + rest} bytes, the index says {pack.PlainSizeBytes}");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(skip);
        }
    }

    /// <summary>
    /// Copies a file's content to <paramref name="destination"/> (or nowhere, to verify) and checks its size and SHA-1
    /// against the index. Returns null when it matches, else the problem.
    /// </summary>
    /// <param name="destination">
    /// Written on the calling thread: on Linux an asynchronous file write is a synchronous one on a thread-pool thread,
    /// and a drill restores on threads of the lowest priority (<c>IdleCpuScheduler</c>), where the write's CPU belongs too.
    /// </param>
    public static async Task<string?> CopyCheckedAsync(IndexedFile file, Stream content, SafeFileHandle? destination, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(SkipBytes);
        try
        {
            using var sha1 = OdooSha1.CreateIncremental();
            long total = 0;
            int read;
            while ((read = await content.ReadAsync(buffer.AsMemory(0, SkipBytes), cancellationToken)) > 0)
            {
                sha1.AppendData(buffer, 0, read);
                if (destination is not null)
                {
                    RandomAccess.Write(destination, buffer.AsSpan(0, read), total);
                }

                total += read;
            }

            var actual = Convert.ToHexStringLower(sha1.GetHashAndReset());
            return total != file.SizeBytes ? $"it decoded to {total} bytes, the index says {file.SizeBytes}"
                : actual != file.Sha1 ? $"its content has SHA-1 {actual}, the index says {file.Sha1}"
                : null;
        }
        catch (CorruptObjectException e) when (e.ObjectName.EndsWith(BlobSuffix(file), StringComparison.Ordinal))
        {
            // The blob's own compressed frame is damaged; the pack around it may still be whole.
            return e.Reason;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>How a blob's own damage (its compressed frame) is named, as opposed to its pack's.</summary>
    private static string BlobSuffix(IndexedFile file) => $" ({file.Name})";

    /// <summary>Reads and discards up to <paramref name="count"/> bytes; returns how many there were.</summary>
    private static async Task<long> SkipAsync(Stream stream, long count, byte[] buffer, CancellationToken cancellationToken)
    {
        long skipped = 0;
        while (skipped < count)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count - skipped)), cancellationToken);
            if (read == 0)
            {
                break;
            }

            skipped += read;
        }

        return skipped;
    }

    /// <summary>The next <c>length</c> bytes of a stream, which stays open.</summary>
    private sealed class WindowStream(Stream inner, long length) : SequentialReadStream
    {
        public long Remaining { get; private set; } = length;

        public override int Read(Span<byte> buffer)
        {
            if (Remaining == 0)
            {
                return 0;
            }

            var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, Remaining)]);
            Remaining -= read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Remaining == 0)
            {
                return 0;
            }

            var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, Remaining)], cancellationToken);
            Remaining -= read;
            return read;
        }
    }
}
