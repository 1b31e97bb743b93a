namespace BackupDr.Repository.Tests.Integrity;

/// <summary>Deterministic test data and helpers shared by the crypto, compression and integrity tests.</summary>
internal static class TestStreams
{
    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Text-like data that compresses well (a ledger-ish CSV).</summary>
    public static byte[] CompressibleBytes(int length, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[length];
        var line = 0;
        var position = 0;
        while (position < length)
        {
            var text = System.Text.Encoding.ASCII.GetBytes(
                $"{line++},account_move_line,{random.Next(1000, 1100)},EUR,{random.Next(0, 100000) / 100.0:F2},posted\n");
            var take = Math.Min(text.Length, length - position);
            text.AsSpan(0, take).CopyTo(bytes.AsSpan(position));
            position += take;
        }

        return bytes;
    }

    /// <summary>Writes <paramref name="data"/> in chunks of random sizes (1 to <paramref name="maxChunk"/>).</summary>
    public static async Task WriteInRandomChunksAsync(Stream stream, byte[] data, int seed, int maxChunk, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        var offset = 0;
        while (offset < data.Length)
        {
            var chunk = Math.Min(random.Next(1, maxChunk + 1), data.Length - offset);
            await stream.WriteAsync(data.AsMemory(offset, chunk), cancellationToken);
            offset += chunk;
        }
    }

    public static void WriteInRandomChunks(Stream stream, byte[] data, int seed, int maxChunk)
    {
        var random = new Random(seed);
        var offset = 0;
        while (offset < data.Length)
        {
            var chunk = Math.Min(random.Next(1, maxChunk + 1), data.Length - offset);
            stream.Write(data, offset, chunk);
            offset += chunk;
        }
    }

    /// <summary>Reads a stream to its end with reads of random sizes.</summary>
    public static async Task<byte[]> ReadAllInRandomChunksAsync(Stream stream, int seed, int maxChunk, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        var output = new MemoryStream();
        var buffer = new byte[maxChunk];
        while (true)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, random.Next(1, maxChunk + 1)), cancellationToken);
            if (read == 0)
            {
                return output.ToArray();
            }

            output.Write(buffer, 0, read);
        }
    }

    public static byte[] ReadAllSync(Stream stream, int bufferSize)
    {
        var output = new MemoryStream();
        var buffer = new byte[bufferSize];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }

    public static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        var output = new MemoryStream();
        await stream.CopyToAsync(output, cancellationToken);
        return output.ToArray();
    }

    /// <summary>A clock that always says the same instant.</summary>
    public sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
