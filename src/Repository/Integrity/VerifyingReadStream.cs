using System.Security.Cryptography;

namespace BackupDr.Repository.Integrity;

/// <summary>
/// A read-only pass-through stream that checks an object against its recorded size and SHA-256 (from a manifest).
/// It throws <see cref="CorruptObjectException"/> as soon as the object yields more bytes than recorded, and at the
/// end of the object when the size or the digest differ. It returns 0 (end of stream) only after a successful check.
/// </summary>
/// <remarks>
/// The check happens when the inner stream reports its end, so a consumer must read to the end: a consumer that stops
/// early has not verified anything (<see cref="IsVerified"/> stays false; <see cref="VerifyToEndAsync"/> drains the
/// rest and checks). The inner stream is disposed with this one unless <c>leaveOpen</c> is set.
/// </remarks>
internal sealed class VerifyingReadStream : SequentialReadStream
{
    private readonly Stream _inner;
    private readonly string _objectName;
    private readonly long _expectedSize;
    private readonly byte[] _expectedSha256;
    private readonly bool _leaveOpen;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _bytes;
    private bool _verified;
    private bool _disposed;
    private bool _innerDisposed;

    public VerifyingReadStream(Stream inner, ObjectDigest expected, string objectName, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentException.ThrowIfNullOrEmpty(objectName);
        if (!inner.CanRead)
        {
            throw new ArgumentException("the inner stream is not readable", nameof(inner));
        }

        _inner = inner;
        _objectName = objectName;
        _expectedSize = expected.Size;
        _expectedSha256 = expected.Sha256Bytes();
        _leaveOpen = leaveOpen;
    }

    /// <summary>True once the whole object was read and matched its size and SHA-256.</summary>
    public bool IsVerified => _verified;

    /// <summary>Bytes read so far.</summary>
    public long BytesRead => _bytes;

    public override bool CanRead => !_disposed;

    /// <summary>Reads and discards whatever the consumer left unread, then checks the object.</summary>
    public async Task VerifyToEndAsync(CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (await ReadAsync(buffer, cancellationToken) > 0)
            {
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_verified || buffer.IsEmpty)
        {
            return 0;
        }

        var read = _inner.Read(buffer);
        return Account(buffer[..read]);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_verified || buffer.IsEmpty)
        {
            return 0;
        }

        var read = await _inner.ReadAsync(buffer, cancellationToken);
        return Account(buffer.Span[..read]);
    }

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

    private int Account(ReadOnlySpan<byte> read)
    {
        if (read.IsEmpty)
        {
            Verify();
            return 0;
        }

        _bytes += read.Length;
        if (_bytes > _expectedSize)
        {
            throw new CorruptObjectException(
                _objectName, $"it holds more than the {_expectedSize} bytes recorded for it");
        }

        _hash.AppendData(read);
        return read.Length;
    }

    private void Verify()
    {
        if (_bytes != _expectedSize)
        {
            throw new CorruptObjectException(
                _objectName, $"it ended after {_bytes} bytes, but {_expectedSize} bytes were recorded for it");
        }

        Span<byte> actual = stackalloc byte[SHA256.HashSizeInBytes];
        _hash.GetCurrentHash(actual);
        if (!CryptographicOperations.FixedTimeEquals(actual, _expectedSha256))
        {
            throw new CorruptObjectException(
                _objectName,
                $"its SHA-256 is {Convert.ToHexStringLower(actual)}, "
                + $"but {Convert.ToHexStringLower(_expectedSha256)} was recorded for it");
        }

        _verified = true;
    }
}
