using System.Buffers.Binary;

namespace BackupDr.OdooDemo;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014): a fixed, documented algorithm, so the same seed gives the same bytes on
/// every runtime. <see cref="System.Random"/> is not used because its algorithm is not guaranteed to stay the same.
/// </summary>
internal struct SplitMix64(ulong state)
{
    private ulong _state = state;

    /// <summary>A generator for item <paramref name="index"/> of stream <paramref name="stream"/> under a seed.</summary>
    public static SplitMix64 For(long seed, long stream, long index) =>
        new(Mix((ulong)seed ^ Mix(((ulong)stream << 40) ^ (ulong)index)));

    public ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>A value in [0, bound); the modulo bias is irrelevant for fixtures.</summary>
    public int Below(int bound) => (int)(Next() % (ulong)bound);

    public void Fill(Span<byte> destination)
    {
        while (destination.Length >= 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, Next());
            destination = destination[8..];
        }

        var last = Next();
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = (byte)(last >> (8 * i));
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
