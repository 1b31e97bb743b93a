using System.Buffers;
using System.Security.Cryptography;
using BackupDr.Repository.Integrity;

namespace BackupDr.Repository.Crypto;

/// <summary>
/// A write-only stream that encrypts what is written to it into <see cref="EncryptedObjectFormat"/> on an output
/// stream. It holds one segment of plaintext (pooled) and one of ciphertext, whatever the object's size.
/// </summary>
/// <remarks>
/// <para>The object is valid only after <see cref="CompleteAsync"/>, which writes the final segment. Disposing
/// without completing writes nothing more: an interrupted writer leaves an object that fails to decrypt
/// ("ended without its final segment"), never one that reads back as whole.</para>
/// <para><see cref="Flush"/> flushes the output stream only; it cannot emit a partial segment (every segment but the
/// last is full). After an output write fails, the stream refuses further writes and completion.</para>
/// <para>The output stream is disposed with this one unless <c>leaveOpen</c> is set. The data key may be disposed
/// once the constructor returns. Not thread-safe.</para>
/// </remarks>
internal sealed class EncryptingStream : SequentialWriteStream, ICompletableStream
{
    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly int _segmentSize;
    private readonly byte[] _header;
    private readonly AesGcm _cipher;
    private byte[]? _plain;
    private byte[]? _sealed;
    private int _plainCount;
    private ulong _segmentIndex;
    private bool _headerWritten;
    private bool _completed;
    private bool _faulted;
    private bool _disposed;

    /// <param name="output">Where the encrypted object goes.</param>
    /// <param name="dataKey">The backup's data key.</param>
    /// <param name="objectName">The object's logical name within its backup (e.g. "database.dump"); the reader must
    /// give the same name.</param>
    /// <param name="segmentSize">Plaintext bytes per segment.</param>
    /// <param name="leaveOpen">Leave <paramref name="output"/> open when this stream is disposed.</param>
    public EncryptingStream(
        Stream output,
        DataKey dataKey,
        string objectName,
        int segmentSize = EncryptedObjectFormat.DefaultSegmentSize,
        bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(dataKey);
        ArgumentException.ThrowIfNullOrEmpty(objectName);
        EncryptedObjectFormat.CheckSegmentSize(segmentSize);
        if (!output.CanWrite)
        {
            throw new ArgumentException("the output stream is not writable", nameof(output));
        }

        _output = output;
        _leaveOpen = leaveOpen;
        _segmentSize = segmentSize;
        _header = EncryptedObjectFormat.NewHeader(segmentSize);
        _cipher = EncryptedObjectFormat.CreateObjectCipher(
            dataKey.AsSpan(), EncryptedObjectFormat.SaltOf(_header), objectName);
        _plain = ArrayPool<byte>.Shared.Rent(segmentSize);
        _sealed = ArrayPool<byte>.Shared.Rent(segmentSize + EncryptedObjectFormat.TagLength);
    }

    /// <summary>Plaintext bytes accepted so far.</summary>
    public long PlaintextLength { get; private set; }

    /// <summary>Encrypted bytes written to the output so far (the object's size once completed).</summary>
    public long CiphertextLength { get; private set; }

    public bool IsCompleted => _completed;

    public override bool CanWrite => !_disposed && !_completed;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        EnsureWritable();
        try
        {
            if (!_headerWritten)
            {
                _output.Write(_header);
                Written(_header.Length);
                _headerWritten = true;
            }

            while (!buffer.IsEmpty)
            {
                if (_plainCount == _segmentSize)
                {
                    // The buffered segment is full and more data follows, so it is not the last one.
                    var length = Seal(_plain.AsSpan(0, _segmentSize), final: false);
                    _plainCount = 0;
                    _output.Write(_sealed.AsSpan(0, length));
                    Written(length);
                }

                if (_plainCount == 0 && buffer.Length > _segmentSize)
                {
                    var length = Seal(buffer[.._segmentSize], final: false);
                    _output.Write(_sealed.AsSpan(0, length));
                    Written(length);
                    buffer = buffer[_segmentSize..];
                    PlaintextLength += _segmentSize;
                    continue;
                }

                var take = Math.Min(_segmentSize - _plainCount, buffer.Length);
                buffer[..take].CopyTo(_plain.AsSpan(_plainCount));
                _plainCount += take;
                PlaintextLength += take;
                buffer = buffer[take..];
            }
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureWritable();
        try
        {
            await WriteHeaderAsync(cancellationToken);
            while (!buffer.IsEmpty)
            {
                if (_plainCount == _segmentSize)
                {
                    // The buffered segment is full and more data follows, so it is not the last one.
                    var length = Seal(_plain.AsSpan(0, _segmentSize), final: false);
                    _plainCount = 0;
                    await _output.WriteAsync(_sealed.AsMemory(0, length), cancellationToken);
                    Written(length);
                }

                if (_plainCount == 0 && buffer.Length > _segmentSize)
                {
                    var length = Seal(buffer.Span[.._segmentSize], final: false);
                    await _output.WriteAsync(_sealed.AsMemory(0, length), cancellationToken);
                    Written(length);
                    buffer = buffer[_segmentSize..];
                    PlaintextLength += _segmentSize;
                    continue;
                }

                var take = Math.Min(_segmentSize - _plainCount, buffer.Length);
                buffer.Span[..take].CopyTo(_plain.AsSpan(_plainCount));
                _plainCount += take;
                PlaintextLength += take;
                buffer = buffer[take..];
            }
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    /// <summary>
    /// Writes the final segment (what is buffered, possibly nothing) and flushes the output. Afterwards the object is
    /// complete and the stream accepts no more writes. Calling it again does nothing. Does not dispose the output.
    /// </summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (_completed)
        {
            return;
        }

        EnsureWritable();
        try
        {
            await WriteHeaderAsync(cancellationToken);
            var length = Seal(_plain.AsSpan(0, _plainCount), final: true);
            _plainCount = 0;
            await _output.WriteAsync(_sealed.AsMemory(0, length), cancellationToken);
            Written(length);
            await _output.FlushAsync(cancellationToken);
            _completed = true;
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    public override void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _output.Flush();
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _output.FlushAsync(cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            ReleaseBuffers();
            if (!_leaveOpen)
            {
                _output.Dispose();
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
                await _output.DisposeAsync();
            }
        }

        await base.DisposeAsync();
    }

    private void ReleaseBuffers()
    {
        _disposed = true;
        _cipher.Dispose();
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

    private async ValueTask WriteHeaderAsync(CancellationToken cancellationToken)
    {
        if (!_headerWritten)
        {
            await _output.WriteAsync(_header, cancellationToken);
            Written(_header.Length);
            _headerWritten = true;
        }
    }

    /// <summary>Encrypts one segment into the sealed buffer; returns its length (plaintext + tag).</summary>
    private int Seal(ReadOnlySpan<byte> plaintext, bool final)
    {
        Span<byte> nonce = stackalloc byte[EncryptedObjectFormat.NonceLength];
        EncryptedObjectFormat.WriteNonce(nonce, _segmentIndex, final);
        var destination = _sealed.AsSpan(0, plaintext.Length + EncryptedObjectFormat.TagLength);
        _cipher.Encrypt(
            nonce, plaintext, destination[..plaintext.Length], destination[plaintext.Length..], _header);
        _segmentIndex++;
        return destination.Length;
    }

    private void Written(int bytes) => CiphertextLength += bytes;

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("the encrypted object is already complete");
        }

        if (_faulted)
        {
            throw new InvalidOperationException("an earlier write to the encrypted object failed; it cannot be continued");
        }
    }
}
