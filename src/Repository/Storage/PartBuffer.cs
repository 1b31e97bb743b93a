using System.Buffers;
using System.Security.Cryptography;

namespace BackupDr.Repository.Storage;

/// <summary>
/// One part of an upload in an array rented from <see cref="ArrayPool{T}.Shared"/>. The owner disposes it exactly
/// once, which returns the array; a failed request is retried from the same buffer (the source cannot be re-read).
/// </summary>
internal sealed class PartBuffer : IDisposable
{
    private byte[]? _array;

    private PartBuffer(int capacity)
    {
        _array = ArrayPool<byte>.Shared.Rent(capacity);
        Capacity = capacity;
    }

    /// <summary>The part size asked for; the rented array may be larger.</summary>
    public int Capacity { get; }

    /// <summary>Bytes of the part: equals <see cref="Capacity"/> unless the source ended inside this part.</summary>
    public int Length { get; private set; }

    public bool IsFull => Length == Capacity;

    public ReadOnlyMemory<byte> Memory => Array.AsMemory(0, Length);

    private byte[] Array => _array ?? throw new ObjectDisposedException(nameof(PartBuffer));

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
                var read = await source.ReadAsync(part.Array.AsMemory(part.Length, part.Capacity - part.Length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                part.Length += read;
            }

            hash.AppendData(part.Array, 0, part.Length);
            return part;
        }
        catch
        {
            part.Dispose();
            throw;
        }
    }

    /// <summary>A new read-only stream over the part, for one request attempt; disposing it does not free the part.</summary>
    public MemoryStream OpenStream() => new(Array, 0, Length, writable: false, publiclyVisible: true);

    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array, null);
        if (array is not null)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}
