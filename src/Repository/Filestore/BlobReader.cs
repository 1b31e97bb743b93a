using System.Buffers;
using System.Collections.Concurrent;
using BackupDr.Repository.Compression;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace BackupDr.Repository.Filestore;

/// <summary>
/// A small file read whole, checked against its SHA-1 name and compressed where it pays, ready to go into a pack.
/// Its buffer is pooled (<see cref="BlobReader.Buffers"/>): dispose it once the bytes are in the pack.
/// </summary>
internal sealed class PreparedBlob(SourceFile file, string blobId, byte[] buffer, int length, Codec codec) : IDisposable
{
    private byte[]? _buffer = buffer;

    public SourceFile File { get; } = file;

    public string BlobId { get; } = blobId;

    public Codec Codec { get; } = codec;

    /// <summary>The bytes to store (compressed when <see cref="Codec"/> is zstd).</summary>
    public ReadOnlyMemory<byte> Stored => (_buffer ?? throw new ObjectDisposedException(nameof(PreparedBlob))).AsMemory(0, length);

    public void Dispose()
    {
        if (_buffer is { } b)
        {
            _buffer = null;
            BlobReader.Buffers.Return(b);
        }
    }
}

/// <summary>Why a source file was not backed up; the backup records it and goes on.</summary>
internal sealed class SourceFileException(FileProblemKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public FileProblemKind Kind { get; } = kind;
}

/// <summary>
/// Reads source files for the filestore backup. Compression is decided per file (<see cref="ChooseCodec"/>): zstd
/// level 3, one frame with a content checksum, or none for content that is compressed or random already.
/// </summary>
internal static class BlobReader
{
    public const int SampleBytes = 16 << 10;

    /// <summary>Zstd saves about 1 % at best on content this random (uniformly random bytes show 7.99 bits per byte in 16 KiB).</summary>
    public const double IncompressibleBitsPerByte = 7.9;
    private const int CompressionLevel = 3;

    private static readonly ConcurrentBag<Compressor> Compressors = [];

    /// <summary>
    /// Buffers of whole small files and their compressed forms (up to a few MiB each). A pool without per-thread
    /// caches: a buffer is rented by a reader and returned by the packer on another thread, where
    /// <see cref="ArrayPool{T}.Shared"/> would keep it out of the readers' reach and allocate anew.
    /// </summary>
    internal static readonly ArrayPool<byte> Buffers = ArrayPool<byte>.Create(64 << 20, maxArraysPerBucket: 64);

    /// <summary>Reads a file smaller than the large-file threshold whole (one read into a pooled buffer).</summary>
    /// <exception cref="SourceFileException">Missing, unreadable, changed size, or content not matching its name.</exception>
    public static async Task<PreparedBlob> ReadSmallAsync(string root, SourceFile file, FilestoreKeys keys, CancellationToken cancellationToken)
    {
        var size = checked((int)file.SizeBytes);
        var raw = Buffers.Rent(Math.Max(size, 1));
        try
        {
            var length = await ReadWholeAsync(Path.Combine(root, file.Name), raw, size, cancellationToken);
            var content = raw.AsSpan(0, length);
            Span<byte> sha1 = stackalloc byte[OdooSha1.Length];
            OdooSha1.HashData(content, sha1);
            CheckSha1(file, sha1, length);
            var blobId = keys.BlobId(sha1);
            if (ChooseCodec(content) == Codec.None)
            {
                var kept = raw;
                raw = null;
                return new PreparedBlob(file, blobId, kept, length, Codec.None);
            }

            // Compressed into at most the file's own size: content that does not shrink is stored as it is (and the
            // buffer is the size of the file, not of zstd's worst case, which rounded to twice the memory).
            var compressed = Buffers.Rent(length);
            var compressor = RentCompressor();
            try
            {
                if (compressor.TryWrap(content, compressed.AsSpan(0, length), out var written) && written < length)
                {
                    return new PreparedBlob(file, blobId, compressed, written, Codec.Zstd);
                }
            }
            catch
            {
                Buffers.Return(compressed);
                throw;
            }
            finally
            {
                Compressors.Add(compressor);
            }

            Buffers.Return(compressed);
            var stored = raw;
            raw = null;
            return new PreparedBlob(file, blobId, stored, length, Codec.None);
        }
        finally
        {
            if (raw is not null)
            {
                Buffers.Return(raw);
            }
        }
    }

    /// <summary>
    /// zstd unless the first bytes say the content is compressed already, or the Shannon entropy of the bytes of a
    /// <see cref="SampleBytes"/> sample is at least <see cref="IncompressibleBitsPerByte"/> (random-looking content:
    /// encrypted PDFs, media without a known header). Counting bytes costs next to nothing; a trial compression in
    /// managed zstd cost more CPU than the whole rest of a backup of incompressible files (measured on the bench fixture).
    /// </summary>
    public static Codec ChooseCodec(ReadOnlySpan<byte> content)
    {
        if (content.Length == 0 || CompressedContent.IsAlreadyCompressed(content))
        {
            return Codec.None;
        }

        var sample = content[..Math.Min(content.Length, SampleBytes)];
        Span<int> counts = stackalloc int[256];
        counts.Clear();
        foreach (var b in sample)
        {
            counts[b]++;
        }

        double entropy = 0;
        foreach (var count in counts)
        {
            if (count > 0)
            {
                var p = (double)count / sample.Length;
                entropy -= p * Math.Log2(p);
            }
        }

        // A short sample cannot show 8 bits per byte (at most log2 of its length): judge it against what it could show.
        var ceiling = Math.Min(8.0, Math.Log2(sample.Length));
        return entropy >= ceiling * IncompressibleBitsPerByte / 8.0 ? Codec.None : Codec.Zstd;
    }

    public static void CheckSha1(SourceFile file, ReadOnlySpan<byte> sha1, long length)
    {
        var actual = Convert.ToHexStringLower(sha1);
        if (actual != file.Sha1)
        {
            throw new SourceFileException(FileProblemKind.ContentMismatch,
                $"its content ({length} bytes) has SHA-1 {actual}, not the {file.Sha1} its name says: altered or damaged at the source");
        }
    }

    /// <summary>Opens a source file for one sequential pass; a vanished or unreadable file is a <see cref="SourceFileException"/>.</summary>
    public static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.SequentialScan,
                BufferSize = 0,
            });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SourceFileException(FileProblemKind.Missing, "it disappeared while the backup ran", e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new SourceFileException(FileProblemKind.Unreadable, $"it cannot be read: {e.Message}", e);
        }
    }

    private static async Task<int> ReadWholeAsync(string path, byte[] buffer, int expected, CancellationToken cancellationToken)
    {
        await using var stream = Open(path);
        var total = 0;
        try
        {
            int read;
            while (total < expected && (read = await stream.ReadAsync(buffer.AsMemory(total, expected - total), cancellationToken)) > 0)
            {
                total += read;
            }

            // One byte more than expected means the file grew; the buffer holds the expected size only.
            if (total == expected && await stream.ReadAsync(new byte[1], cancellationToken) > 0)
            {
                total++;
            }
        }
        catch (IOException e)
        {
            throw new SourceFileException(FileProblemKind.Unreadable, $"reading it failed: {e.Message}", e);
        }

        // Odoo never rewrites a stored file: a different size means it is being damaged or replaced right now.
        return total == expected
            ? total
            : throw new SourceFileException(FileProblemKind.ContentMismatch, $"its size changed from {expected} bytes while the backup read it");
    }

    private static Compressor RentCompressor()
    {
        if (Compressors.TryTake(out var compressor))
        {
            return compressor;
        }

        compressor = new Compressor(CompressionLevel);
        compressor.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        return compressor;
    }
}
