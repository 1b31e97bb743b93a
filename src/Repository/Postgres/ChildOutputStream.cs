using System.Buffers;
using System.Threading.Channels;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// A child's standard output, read on a thread of its own with blocking reads and handed to the async reader in full
/// chunks through a small bounded queue (at most <see cref="QueuedChunks"/> chunks of <see cref="ChunkBytes"/>). Meant
/// for tools that stream until they end (pg_dump, psql COPY): a chunk waits until it is full or the output ends.
/// </summary>
/// <remarks>
/// On Linux an async read of a process pipe costs about 50 microseconds of CPU, a blocking one about 3: the tools
/// write in 4 to 8 KiB pieces, so reading pg_dump's 650 MB dump of the 200000 fixture asynchronously burned
/// 3.5 s of CPU against 0.4 s this way (measured 2026-11-23, <c>psql</c> COPY output of the same size).
/// </remarks>
internal sealed class ChildOutputStream : Stream
{
    public const int ChunkBytes = 256 * 1024;
    public const int QueuedChunks = 4;

    private readonly Stream _source;
    private readonly Channel<(byte[] Buffer, int Length)> _chunks =
        Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(QueuedChunks) { SingleReader = true, SingleWriter = true });
    private byte[]? _current;
    private int _offset;
    private int _length;

    public ChildOutputStream(Stream source, string toolName)
    {
        _source = source;
        new Thread(Pump) { IsBackground = true, Name = toolName + " stdout" }.Start();
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_current is null)
        {
            if (!await _chunks.Reader.WaitToReadAsync(cancellationToken))
            {
                return 0;
            }

            TakeNext();
        }

        // Fills the caller's buffer with what is queued already, without waiting for more.
        var total = 0;
        do
        {
            var current = _current!;
            var count = Math.Min(buffer.Length - total, _length - _offset);
            current.AsSpan(_offset, count).CopyTo(buffer.Span[total..]);
            _offset += count;
            total += count;
            if (_offset == _length)
            {
                ArrayPool<byte>.Shared.Return(current);
                _current = null;
            }
        }
        while (total < buffer.Length && (_current is not null || TakeNext()));

        return total;
    }

    private bool TakeNext()
    {
        if (!_chunks.Reader.TryRead(out var chunk))
        {
            return false;
        }

        (_current, _offset, _length) = (chunk.Buffer, 0, chunk.Length);
        return true;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Wakes a pump blocked on a full queue; a pump blocked in Read ends when the child's pipe closes.
            _chunks.Writer.TryComplete();
            if (_current is not null)
            {
                ArrayPool<byte>.Shared.Return(_current);
                _current = null;
            }

            while (_chunks.Reader.TryRead(out var chunk))
            {
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            }
        }

        base.Dispose(disposing);
    }

    private void Pump()
    {
        try
        {
            while (true)
            {
                // A chunk is handed over full (or at the end): every hand-over wakes the reader through the thread pool,
                // which costs far more than the blocking reads that fill it.
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
                var filled = 0;
                int read;
                while (filled < ChunkBytes && (read = _source.Read(buffer, filled, ChunkBytes - filled)) > 0)
                {
                    filled += read;
                }

                if (filled == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    _chunks.Writer.TryComplete();
                    return;
                }

                if (!_chunks.Writer.WaitToWriteAsync().AsTask().GetAwaiter().GetResult() || !_chunks.Writer.TryWrite((buffer, filled)))
                {
                    // The reader went away (disposed): nobody wants the rest.
                    ArrayPool<byte>.Shared.Return(buffer);
                    return;
                }
            }
        }
        catch (Exception e)
        {
            // Thread boundary: a failed pipe read reaches the reader as the stream's error, never the process.
            _chunks.Writer.TryComplete(e);
        }
    }
}
