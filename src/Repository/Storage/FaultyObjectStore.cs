namespace BackupDr.Repository.Storage;

/// <summary>
/// Fault injection for tests, per instance (no static hook): wraps a real store and makes chosen operations fail.
/// Put faults fail the source stream as the inner store reads it, so the inner store's own failure path runs
/// (abort, temporary file removal) exactly as with a dying pg_dump or a dropped network.
/// </summary>
internal sealed class FaultyObjectStore(IObjectStore inner) : IObjectStore
{
    /// <summary>When set, every Put's source throws <see cref="IOException"/> once this many bytes were read.</summary>
    public long? FailPutAfterBytes { get; set; }

    /// <summary>When set, called before each operation with its name ("put", "get", "stat", "list", "delete") and key
    /// (null for list); an exception it returns is thrown instead of running the operation.</summary>
    public Func<string, ObjectKey?, Exception?>? Inject { get; set; }

    public StoreCapabilities Capabilities => inner.Capabilities;

    public string Location => inner.Location;

    public Task<PutResult> PutAsync(ObjectKey key, Stream source, PutOptions options, CancellationToken cancellationToken)
    {
        Fault("put", key);
        return FailPutAfterBytes is { } limit
            ? PutFailingAsync(key, source, options, limit, cancellationToken)
            : inner.PutAsync(key, source, options, cancellationToken);
    }

    public Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        Fault("get", key);
        return inner.OpenReadAsync(key, cancellationToken);
    }

    public Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        Fault("stat", key);
        return inner.StatAsync(key, cancellationToken);
    }

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        Fault("list", null);
        return inner.ListAsync(prefix, cancellationToken);
    }

    public Task DeleteAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        Fault("delete", key);
        return inner.DeleteAsync(key, cancellationToken);
    }

    private async Task<PutResult> PutFailingAsync(ObjectKey key, Stream source, PutOptions options, long limit, CancellationToken cancellationToken)
    {
        await using var failing = new FailingStream(source, limit);
        return await inner.PutAsync(key, failing, options, cancellationToken);
    }

    private void Fault(string operation, ObjectKey? key)
    {
        if (Inject?.Invoke(operation, key) is { } error)
        {
            throw error;
        }
    }

    /// <summary>Passes reads through until <c>limit</c> bytes, then throws. Does not dispose the wrapped stream.</summary>
    internal sealed class FailingStream(Stream source, long limit) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = source.Read(buffer[..Allowed(buffer.Length)]);
            _position += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await source.ReadAsync(buffer[..Allowed(buffer.Length)], cancellationToken);
            _position += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Allowed(int wanted)
        {
            if (_position >= limit && wanted > 0)
            {
                throw new IOException($"injected fault: the source failed after {limit} bytes");
            }

            return (int)Math.Min(wanted, limit - _position);
        }
    }
}
