using System.Buffers;
using System.Collections.Concurrent;
using BackupDr.Repository.Compression;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace BackupDr.Repository.Filestore;

/// <summary>
/// A small file read whole, checked against its SHA-1 name and compressed where it pays, ready to go into a pack.
/// Its buffer is pooled: dispose it once the bytes are in the pack.
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
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}

/// <summary>Why a source file was not backed up; the backup records it and goes on.</summary>
internal sealed class SourceFileException(FileProblemKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public FileProblemKind Kind { get; } = kind;
}

/// <summary>
/// Reads source files for the filestore backup. Compression is decided per file: none for content whose first bytes
/// say it is compressed already (<see cref="CompressedContent"/>), none when zstd level 1 cannot save
/// <see cref="MinimumSavingPercent"/> % of a <see cref="TrialBytes"/> sample, otherwise zstd level 3 (one frame with a
/// content checksum). The trial keeps random-looking content (encrypted PDFs, media without a known header) from
/// costing a full compression for nothing.
/// </summary>
internal static class BlobReader
{
    public const int TrialBytes = 16 << 10;
    public const int MinimumSavingPercent = 3;
    private const int CompressionLevel = 3;

    private static readonly ConcurrentBag<Compressor> Trials = [];
    private static readonly ConcurrentBag<Compressor> Compressors = [];

    /// <summary>Reads a file smaller than the large-file threshold whole (one read into a pooled buffer).</summary>
    /// <exception cref="SourceFileException">Missing, unreadable, changed size, or content not matching its name.</exception>
    public static async Task<PreparedBlob> ReadSmallAsync(string root, SourceFile file, FilestoreKeys keys, CancellationToken cancellationToken)
    {
        var size = checked((int)file.SizeBytes);
        var raw = ArrayPool<byte>.Shared.Rent(Math.Max(size + 1, 1));
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

            var compressed = ArrayPool<byte>.Shared.Rent(Compressor.GetCompressBound(length));
            var compressor = Rent(Compressors, CompressionLevel);
            try
            {
                var written = compressor.Wrap(content, compressed);
                return new PreparedBlob(file, blobId, compressed, written, Codec.Zstd);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(compressed);
                throw;
            }
            finally
            {
                Compressors.Add(compressor);
            }
        }
        finally
        {
            if (raw is not null)
            {
                ArrayPool<byte>.Shared.Return(raw);
            }
        }
    }

    /// <summary>zstd unless the sample's head or a level-1 trial says compression does not pay.</summary>
    public static Codec ChooseCodec(ReadOnlySpan<byte> content)
    {
        if (content.Length == 0 || CompressedContent.IsAlreadyCompressed(content))
        {
            return Codec.None;
        }

        var sample = content[..Math.Min(content.Length, TrialBytes)];
        var output = ArrayPool<byte>.Shared.Rent(Compressor.GetCompressBound(sample.Length));
        var trial = Rent(Trials, 1);
        try
        {
            var written = trial.Wrap(sample, output);
            return written * 100L <= sample.Length * (100L - MinimumSavingPercent) ? Codec.Zstd : Codec.None;
        }
        finally
        {
            Trials.Add(trial);
            ArrayPool<byte>.Shared.Return(output);
        }
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
            while (total <= expected && (read = await stream.ReadAsync(buffer.AsMemory(total, expected + 1 - total), cancellationToken)) > 0)
            {
                total += read;
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

    private static Compressor Rent(ConcurrentBag<Compressor> pool, int level)
    {
        if (pool.TryTake(out var compressor))
        {
            return compressor;
        }

        compressor = new Compressor(level);
        compressor.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        return compressor;
    }
}
