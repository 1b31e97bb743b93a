using System.Security.Cryptography;

namespace BackupDr.Repository.Integrity;

/// <summary>
/// A pass-through stream that counts the bytes going through it and computes their SHA-256: either the bytes read
/// from an inner readable stream, or the bytes written to an inner writable stream (one direction per instance).
/// </summary>
/// <remarks>
/// Not thread-safe, like any stream. The inner stream is disposed with this one unless <c>leaveOpen</c> is set.
/// <see cref="GetDigest"/> may be called at any time and reflects the bytes seen so far.
/// </remarks>
internal sealed class HashingStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _reading;
    private readonly bool _leaveOpen;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _bytes;
    private bool _disposed;
    private bool _innerDisposed;

    private HashingStream(Stream inner, bool reading, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (reading && !inner.CanRead)
        {
            throw new ArgumentException("the inner stream is not readable", nameof(inner));
        }

        if (!reading && !inner.CanWrite)
        {
            throw new ArgumentException("the inner stream is not writable", nameof(inner));
        }

        _inner = inner;
        _reading = reading;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Hashes the bytes read through it from <paramref name="inner"/>.</summary>
    public static HashingStream ForReading(Stream inner, bool leaveOpen = false) => new(inner, reading: true, leaveOpen);

    /// <summary>Hashes the bytes written through it to <paramref name="inner"/>.</summary>
    public static HashingStream ForWriting(Stream inner, bool leaveOpen = false) => new(inner, reading: false, leaveOpen);

    /// <summary>Bytes that went through so far.</summary>
    public long BytesCount => _bytes;

    public override bool CanRead => _reading && !_disposed;

    public override bool CanWrite => !_reading && !_disposed;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Size and SHA-256 of the bytes that went through so far.</summary>
    public ObjectDigest GetDigest()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        _hash.GetCurrentHash(digest);
        return new ObjectDigest(_bytes, Convert.ToHexStringLower(digest));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        EnsureReadable();
        var read = _inner.Read(buffer);
        Count(buffer[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureReadable();
        var read = await _inner.ReadAsync(buffer, cancellationToken);
        Count(buffer.Span[..read]);
        return read;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        EnsureWritable();
        _inner.Write(buffer);
        Count(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureWritable();
        await _inner.WriteAsync(buffer, cancellationToken);
        Count(buffer.Span);
    }

    public override void Flush()
    {
        if (!_reading)
        {
            _inner.Flush();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _reading ? Task.CompletedTask : _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _hash.Dispose();
            if (!_leaveOpen && !_innerDisposed)
            {
                _innerDisposed = true;
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed && !_leaveOpen && !_innerDisposed)
        {
            _innerDisposed = true;
            await _inner.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    private void Count(ReadOnlySpan<byte> bytes)
    {
        _hash.AppendData(bytes);
        _bytes += bytes.Length;
    }

    private void EnsureReadable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_reading)
        {
            throw new NotSupportedException("this hashing stream hashes writes; it cannot be read");
        }
    }

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_reading)
        {
            throw new NotSupportedException("this hashing stream hashes reads; it cannot be written");
        }
    }
}
