using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using BackupDr.Repository.Integrity;

namespace BackupDr.Repository.Crypto;

/// <summary>
/// A read-only stream that decrypts an object in <see cref="EncryptedObjectFormat"/>, segment by segment. It returns
/// plaintext only from segments that authenticated, and reports the end of the stream (0) only after the final
/// segment authenticated and the input ended right after it. Anything else throws <see cref="CorruptObjectException"/>
/// naming the object and what failed.
/// </summary>
/// <remarks>
/// <para>Plaintext returned before a failure did authenticate, but the object as a whole is not trustworthy until
/// the end is reached: a consumer (a restore) must treat any exception as "the object is damaged".</para>
/// <para>To tell the last segment from the others, the stream reads one byte past each segment. It holds one
/// segment of ciphertext and one of plaintext (pooled). The input is disposed with this stream unless
/// <c>leaveOpen</c> is set. The data key may be disposed once the constructor returns. Not thread-safe.</para>
/// </remarks>
internal sealed class DecryptingStream : SequentialReadStream
{
    private readonly Stream _input;
    private readonly bool _leaveOpen;
    private readonly string _objectName;
    private readonly string _displayName;
    private readonly byte[] _header = new byte[EncryptedObjectFormat.HeaderLength];
    private KeyMaterial? _dataKey;
    private AesGcm? _cipher;
    private byte[]? _sealed;
    private byte[]? _plain;
    private int _sealedSegmentLength;
    private int _sealedCount;
    private int _plainOffset;
    private int _plainCount;
    private ulong _segmentIndex;
    private bool _inputEnded;
    private bool _finished;
    private bool _disposed;
    private string? _failure;

    /// <param name="input">The encrypted object.</param>
    /// <param name="dataKey">The backup's data key.</param>
    /// <param name="objectName">The logical name the object was encrypted under (e.g. "database.dump").</param>
    /// <param name="displayName">Names the object in error messages (its key in the repository).</param>
    /// <param name="leaveOpen">Leave <paramref name="input"/> open when this stream is disposed.</param>
    public DecryptingStream(Stream input, DataKey dataKey, string objectName, string displayName, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(dataKey);
        ArgumentException.ThrowIfNullOrEmpty(objectName);
        ArgumentException.ThrowIfNullOrEmpty(displayName);
        if (!input.CanRead)
        {
            throw new ArgumentException("the input stream is not readable", nameof(input));
        }

        _input = input;
        _leaveOpen = leaveOpen;
        _objectName = objectName;
        _displayName = displayName;
        _dataKey = KeyMaterial.CopyOf(dataKey.AsSpan());
    }

    /// <summary>Plaintext bytes returned so far.</summary>
    public long PlaintextBytesRead { get; private set; }

    /// <summary>True once the final segment authenticated and nothing followed it.</summary>
    public bool IsFinished => _finished;

    public override bool CanRead => !_disposed;

    public override int Read(Span<byte> buffer)
    {
        EnsureReadable();
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_cipher is null)
        {
            var headerRead = ReadAtLeast(_input, _header);
            StartObject(headerRead);
        }

        while (true)
        {
            if (_plainOffset < _plainCount)
            {
                return CopyBuffered(buffer);
            }

            if (_finished)
            {
                return 0;
            }

            while (!_inputEnded && _sealedCount <= _sealedSegmentLength)
            {
                var read = _input.Read(_sealed.AsSpan(_sealedCount, _sealedSegmentLength + 1 - _sealedCount));
                Filled(read);
            }

            var direct = OpenSegment(buffer);
            if (direct > 0)
            {
                return direct;
            }
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureReadable();
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_cipher is null)
        {
            var headerRead = await _input.ReadAtLeastAsync(_header, _header.Length, throwOnEndOfStream: false, cancellationToken);
            StartObject(headerRead);
        }

        while (true)
        {
            if (_plainOffset < _plainCount)
            {
                return CopyBuffered(buffer.Span);
            }

            if (_finished)
            {
                return 0;
            }

            while (!_inputEnded && _sealedCount <= _sealedSegmentLength)
            {
                var read = await _input.ReadAsync(
                    _sealed.AsMemory(_sealedCount, _sealedSegmentLength + 1 - _sealedCount), cancellationToken);
                Filled(read);
            }

            var direct = OpenSegment(buffer.Span);
            if (direct > 0)
            {
                return direct;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            ReleaseBuffers();
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
            ReleaseBuffers();
            if (!_leaveOpen)
            {
                await _input.DisposeAsync();
            }
        }

        await base.DisposeAsync();
    }

    private static int ReadAtLeast(Stream stream, byte[] buffer) =>
        stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    private void StartObject(int headerRead)
    {
        if (headerRead == 0)
        {
            throw Corrupt("it is empty: it has no encryption header");
        }

        if (headerRead < _header.Length)
        {
            throw Corrupt($"its encryption header is truncated ({headerRead} of {_header.Length} bytes)");
        }

        if (!_header.AsSpan(0, EncryptedObjectFormat.MagicLength).SequenceEqual(EncryptedObjectFormat.Magic))
        {
            throw Corrupt("it does not start with the BackupDr encryption header (magic \"BDRE\")");
        }

        var version = _header[EncryptedObjectFormat.MagicLength];
        if (version != EncryptedObjectFormat.Version)
        {
            throw Corrupt(
                $"its encryption format version {version} is not one this backupdr reads ({EncryptedObjectFormat.Version})");
        }

        var segmentSize = EncryptedObjectFormat.SegmentSizeOf(_header);
        if (segmentSize is < EncryptedObjectFormat.MinimumSegmentSize or > EncryptedObjectFormat.MaximumSegmentSize)
        {
            throw Corrupt(
                $"its header declares a segment size of {segmentSize} bytes, outside "
                + $"{EncryptedObjectFormat.MinimumSegmentSize}..{EncryptedObjectFormat.MaximumSegmentSize}");
        }

        _sealedSegmentLength = (int)segmentSize + EncryptedObjectFormat.TagLength;
        _cipher = EncryptedObjectFormat.CreateObjectCipher(
            _dataKey!.AsSpan(), EncryptedObjectFormat.SaltOf(_header), _objectName);
        _dataKey.Dispose();
        _dataKey = null;

        // One byte more than a sealed segment: whether it arrives tells a middle segment from the final one.
        _sealed = ArrayPool<byte>.Shared.Rent(_sealedSegmentLength + 1);
        _plain = ArrayPool<byte>.Shared.Rent((int)segmentSize);
    }

    private void Filled(int read)
    {
        if (read == 0)
        {
            _inputEnded = true;
        }

        _sealedCount += read;
    }

    /// <summary>
    /// Authenticates and decrypts the segment at the start of the sealed buffer: straight into
    /// <paramref name="destination"/> when it fits (returns its length), else into the plaintext buffer (returns 0).
    /// </summary>
    private int OpenSegment(Span<byte> destination)
    {
        // A segment followed by at least one more byte is a middle segment; anything that reaches the end of the
        // input is the final segment.
        var final = _sealedCount <= _sealedSegmentLength;
        var sealedLength = final ? _sealedCount : _sealedSegmentLength;
        if (sealedLength < EncryptedObjectFormat.TagLength)
        {
            throw Corrupt(sealedLength == 0
                ? $"it ended without its final segment (after {Segments(_segmentIndex)})"
                : $"segment {_segmentIndex} is truncated ({sealedLength} bytes, shorter than its tag)");
        }

        var plainLength = sealedLength - EncryptedObjectFormat.TagLength;
        var direct = destination.Length >= plainLength;
        var target = direct ? destination[..plainLength] : _plain.AsSpan(0, plainLength);
        var sealedSegment = _sealed.AsSpan(0, sealedLength);
        if (!TryOpen(sealedSegment, target, final))
        {
            if (final && sealedLength == _sealedSegmentLength && TryOpen(sealedSegment, target, final: false))
            {
                CryptographicOperations.ZeroMemory(target);
                throw Corrupt($"it ended without its final segment (truncated after {Segments(_segmentIndex + 1)})");
            }

            throw Corrupt(_segmentIndex == 0
                ? "segment 0 failed authentication (altered bytes or header, another backup's key, or another object's name)"
                : $"segment {_segmentIndex} failed authentication (altered, reordered or truncated)");
        }

        _segmentIndex++;
        if (final)
        {
            _finished = true;
            _sealedCount = 0;
        }
        else
        {
            _sealed![0] = _sealed[_sealedSegmentLength];
            _sealedCount = 1;
        }

        PlaintextBytesRead += plainLength;
        if (direct)
        {
            return plainLength;
        }

        _plainOffset = 0;
        _plainCount = plainLength;
        return 0;
    }

    private bool TryOpen(ReadOnlySpan<byte> sealedSegment, Span<byte> plaintext, bool final)
    {
        Span<byte> nonce = stackalloc byte[EncryptedObjectFormat.NonceLength];
        EncryptedObjectFormat.WriteNonce(nonce, _segmentIndex, final);
        var split = sealedSegment.Length - EncryptedObjectFormat.TagLength;
        try
        {
            _cipher!.Decrypt(nonce, sealedSegment[..split], sealedSegment[split..], plaintext, _header);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private int CopyBuffered(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _plainCount - _plainOffset);
        _plain.AsSpan(_plainOffset, count).CopyTo(destination);
        _plainOffset += count;
        return count;
    }

    private void ReleaseBuffers()
    {
        _disposed = true;
        _dataKey?.Dispose();
        _cipher?.Dispose();
        if (_plain is not null)
        {
            // Plaintext must not linger in a shared pool.
            ArrayPool<byte>.Shared.Return(_plain, clearArray: true);
            _plain = null;
        }

        if (_sealed is not null)
        {
            ArrayPool<byte>.Shared.Return(_sealed);
            _sealed = null;
        }
    }

    private static string Segments(ulong count) =>
        count == 1 ? "1 segment" : $"{count.ToString(CultureInfo.InvariantCulture)} segments";

    /// <summary>Once damage was reported, every later read reports it again: no byte after it is ever returned.</summary>
    private void EnsureReadable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
        {
            throw new CorruptObjectException(_displayName, _failure);
        }
    }

    private CorruptObjectException Corrupt(string reason)
    {
        _failure = reason;
        return new CorruptObjectException(_displayName, reason);
    }
}
