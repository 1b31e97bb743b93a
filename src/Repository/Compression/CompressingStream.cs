using BackupDr.Repository.Integrity;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace BackupDr.Repository.Compression;

/// <summary>
/// A write-only stream that compresses what is written to it with <see cref="Codec"/> onto an output stream (or
/// passes it through for <see cref="Codec.None"/>). Create it with <see cref="CompressionStreams.Compress"/>.
/// </summary>
/// <remarks>
/// <para>zstd output is one frame with a content checksum. <see cref="CompleteAsync"/> ends the frame and flushes
/// the output; disposing without completing writes nothing more (the frame stays unterminated, which a reader
/// reports as truncated). <see cref="Flush"/> flushes the output only: zstd keeps what it is still working on.</para>
/// <para>Memory is bounded by zstd's window and job sizes for the level (a few MiB at level 3), not by the input.
/// The output is disposed with this stream unless <c>leaveOpen</c> is set. Not thread-safe.</para>
/// </remarks>
internal sealed class CompressingStream : SequentialWriteStream, ICompletableStream
{
    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly GateStream _gate;
    private readonly CompressionStream? _zstd;
    private bool _completed;
    private bool _faulted;
    private bool _disposed;

    internal CompressingStream(Stream output, Codec codec, CompressionSettings settings, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(settings);
        if (!output.CanWrite)
        {
            throw new ArgumentException("the output stream is not writable", nameof(output));
        }

        _output = output;
        _leaveOpen = leaveOpen;
        _gate = new GateStream(output);
        Codec = codec;
        switch (codec)
        {
            case Codec.None:
                break;
            case Codec.Zstd:
                _zstd = new CompressionStream(_gate, settings.Level, bufferSize: 0, leaveOpen: true);
                _zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
                if (settings.Workers > 0)
                {
                    _zstd.SetParameter(ZSTD_cParameter.ZSTD_c_nbWorkers, settings.Workers);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(codec), codec, "unknown codec");
        }
    }

    public Codec Codec { get; }

    /// <summary>Bytes written to this stream so far.</summary>
    public long UncompressedLength { get; private set; }

    /// <summary>Bytes written to the output so far.</summary>
    public long CompressedLength => _gate.BytesWritten;

    public bool IsCompleted => _completed;

    public override bool CanWrite => !_disposed && !_completed;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        EnsureWritable();
        try
        {
            if (_zstd is null)
            {
                _gate.Write(buffer);
            }
            else
            {
                _zstd.Write(buffer);
            }

            UncompressedLength += buffer.Length;
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
            if (_zstd is null)
            {
                await _gate.WriteAsync(buffer, cancellationToken);
            }
            else
            {
                await _zstd.WriteAsync(buffer, cancellationToken);
            }

            UncompressedLength += buffer.Length;
        }
        catch
        {
            _faulted = true;
            throw;
        }
    }

    /// <summary>
    /// Ends the zstd frame, writes what remains and flushes the output. Calling it again does nothing. Does not
    /// complete or dispose the output.
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
            if (_zstd is not null)
            {
                // ZstdSharp ends the frame (ZSTD_e_end) only when disposed; its Flush is ZSTD_e_flush. Its dispose
                // takes no token: the remaining output is at most a few zstd blocks.
                await _zstd.DisposeAsync();
            }

            await _output.FlushAsync(cancellationToken);
            _completed = true;
            _gate.StopForwarding();
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
            Release();
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
            Release();
            if (!_leaveOpen)
            {
                await _output.DisposeAsync();
            }
        }

        await base.DisposeAsync();
    }

    private void Release()
    {
        _disposed = true;
        // Whatever ZstdSharp writes while disposing (it ends the frame) must not reach the output: an object that
        // was not completed stays unterminated.
        _gate.StopForwarding();
        _zstd?.Dispose();
    }

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("the compressed object is already complete");
        }

        if (_faulted)
        {
            throw new InvalidOperationException("an earlier write to the compressed object failed; it cannot be continued");
        }
    }

    /// <summary>Forwards writes to the output until closed, then drops them. Never disposes the output.</summary>
    private sealed class GateStream(Stream output) : SequentialWriteStream
    {
        private bool _closed;

        public long BytesWritten { get; private set; }

        public void StopForwarding() => _closed = true;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (!_closed)
            {
                output.Write(buffer);
                BytesWritten += buffer.Length;
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_closed)
            {
                await output.WriteAsync(buffer, cancellationToken);
                BytesWritten += buffer.Length;
            }
        }

        public override void Flush()
        {
            if (!_closed)
            {
                output.Flush();
            }
        }

        public override Task FlushAsync(CancellationToken cancellationToken) =>
            _closed ? Task.CompletedTask : output.FlushAsync(cancellationToken);
    }
}
