using System.Buffers;
using System.Security.Cryptography;

namespace BackupDr.Repository.Storage;

/// <summary>
/// One part of an upload, held in 1 MiB chunks rented from a pool of their own as the bytes arrive, so that a part
/// holds what it has read, not its capacity (a 2 KiB table of contents takes one chunk, not a 16 MiB part). The owner
/// disposes it exactly once, which returns the chunks; a failed request is retried from the same part (the source
/// cannot be re-read).
/// </summary>
/// <remarks>
/// The pool has no per-thread caches: chunks are rented on one thread and returned on another, and
/// <see cref="ArrayPool{T}.Shared"/> keeps a returned array in the returning thread's cache, where no other thread finds
/// it. Every returned chunk here is reused by the next rent, so the pool holds at most the peak of bytes buffered at once.
/// </remarks>
internal sealed class PartBuffer : IDisposable
{
    public const int ChunkBytes = 1 << 20;

    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(ChunkBytes, maxArraysPerBucket: 1024);

    private readonly List<byte[]> _chunks = [];
    private bool _disposed;

    private PartBuffer(int capacity)
    {
        Capacity = capacity;
    }

    /// <summary>The part size asked for.</summary>
    public int Capacity { get; }

    /// <summary>Bytes of the part: equals <see cref="Capacity"/> unless the source ended inside this part.</summary>
    public int Length { get; private set; }

    public bool IsFull => Length == Capacity;

    /// <summary>
    /// Reads from <paramref name="source"/> until the part is full or the source ends, and adds the bytes to
    /// <paramref name="hash"/>. The caller disposes the result; on an exception nothing is left rented.
    /// </summary>
    public static async Task<PartBuffer> ReadAsync(Stream source, long sizeBytes, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var part = new PartBuffer(checked((int)sizeBytes));
        try
        {
            while (part.Length < part.Capacity)
            {
                var offset = part.Length % ChunkBytes;
                if (offset == 0)
                {
                    part._chunks.Add(Pool.Rent(ChunkBytes));
                }

                var chunk = part._chunks[^1];
                var read = await source.ReadAsync(chunk.AsMemory(offset, Math.Min(ChunkBytes - offset, part.Capacity - part.Length)), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                hash.AppendData(chunk, offset, read);
                part.Length += read;
            }

            return part;
        }
        catch
        {
            part.Dispose();
            throw;
        }
    }

    /// <summary>A new read-only, seekable stream over the part, for one request attempt; disposing it does not free the part.</summary>
    public Stream OpenStream()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new PartStream(_chunks, Length);
    }

    /// <summary>A copy of the part's bytes.</summary>
    public byte[] ToArray()
    {
        using var stream = OpenStream();
        var bytes = new byte[Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var chunk in _chunks)
        {
            Pool.Return(chunk);
        }

        _chunks.Clear();
    }

    private sealed class PartStream(List<byte[]> chunks, int length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var total = 0;
            while (total < buffer.Length && _position < length)
            {
                var offset = (int)(_position % ChunkBytes);
                var count = (int)Math.Min(Math.Min(ChunkBytes - offset, length - _position), buffer.Length - total);
                chunks[(int)(_position / ChunkBytes)].AsSpan(offset, count).CopyTo(buffer[total..]);
                total += count;
                _position += count;
            }

            return total;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            cancellationToken.IsCancellationRequested ? Task.FromCanceled<int>(cancellationToken) : Task.FromResult(Read(buffer, offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : ValueTask.FromResult(Read(buffer.Span));

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
