using BackupDr.Repository.Integrity;
using ZstdSharp;

namespace BackupDr.Repository.Compression;

/// <summary>
/// A read-only stream that decompresses an object written by <see cref="CompressingStream"/> (or passes it through
/// for <see cref="Codec.None"/>). Create it with <see cref="CompressionStreams.Decompress"/>.
/// </summary>
/// <remarks>
/// A zstd stream that is empty, ends inside a frame, is not zstd, or fails its content checksum throws
/// <see cref="CorruptObjectException"/> naming the object. A <see cref="CorruptObjectException"/> from the input (a
/// decrypting or verifying stream below) passes through unchanged. The input is disposed with this stream unless
/// <c>leaveOpen</c> is set. Not thread-safe.
/// </remarks>
internal sealed class DecompressingStream : SequentialReadStream
{
    private readonly Stream _input;
    private readonly bool _leaveOpen;
    private readonly string _displayName;
    private readonly CountingStream _counted;
    private readonly DecompressionStream? _zstd;
    private bool _disposed;

    internal DecompressingStream(Stream input, Codec codec, string displayName, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(displayName);
        if (!input.CanRead)
        {
            throw new ArgumentException("the input stream is not readable", nameof(input));
        }

        _input = input;
        _leaveOpen = leaveOpen;
        _displayName = displayName;
        _counted = new CountingStream(input);
        Codec = codec;
        _zstd = codec switch
        {
            Codec.None => null,
            Codec.Zstd => new DecompressionStream(_counted, bufferSize: 0, checkEndOfStream: true, leaveOpen: true),
            _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "unknown codec"),
        };
    }

    public Codec Codec { get; }

    /// <summary>Bytes read from the input so far.</summary>
    public long CompressedBytesRead => _counted.BytesRead;

    /// <summary>Bytes returned so far.</summary>
    public long UncompressedBytesRead { get; private set; }

    public override bool CanRead => !_disposed;

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        int read;
        try
        {
            read = _zstd is null ? _counted.Read(buffer) : _zstd.Read(buffer);
        }
        catch (EndOfStreamException ex)
        {
            throw Truncated(ex);
        }
        catch (ZstdException ex)
        {
            throw Damaged(ex);
        }

        return Account(read);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        int read;
        try
        {
            read = _zstd is null
                ? await _counted.ReadAsync(buffer, cancellationToken)
                : await _zstd.ReadAsync(buffer, cancellationToken);
        }
        catch (EndOfStreamException ex)
        {
            throw Truncated(ex);
        }
        catch (ZstdException ex)
        {
            throw Damaged(ex);
        }

        return Account(read);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _zstd?.Dispose();
            if (!_leaveOpen)
            {
                _input.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            _zstd?.Dispose();
            if (!_leaveOpen)
            {
                await _input.DisposeAsync();
            }
        }

        await base.DisposeAsync();
    }

    private int Account(int read)
    {
        // ZstdSharp accepts an input with no frame at all as empty content; a compressed object always has a frame.
        if (read == 0 && _zstd is not null && _counted.BytesRead == 0)
        {
            throw new CorruptObjectException(_displayName, "it is empty: it holds no zstd frame");
        }

        UncompressedBytesRead += read;
        return read;
    }

    private CorruptObjectException Truncated(Exception inner) =>
        new(_displayName, "its zstd frame is truncated (the data ends inside the frame)", inner);

    private CorruptObjectException Damaged(ZstdException inner) =>
        new(_displayName, $"its zstd data is damaged ({inner.Message})", inner);

    /// <summary>Counts the bytes read through it. Never disposes the input.</summary>
    private sealed class CountingStream(Stream input) : SequentialReadStream
    {
        public long BytesRead { get; private set; }

        public override int Read(Span<byte> buffer)
        {
            var read = input.Read(buffer);
            BytesRead += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await input.ReadAsync(buffer, cancellationToken);
            BytesRead += read;
            return read;
        }
    }
}
