namespace BackupDr.Repository.Compression;

/// <summary>Creates the compressing and decompressing streams of the backup and restore pipelines.</summary>
internal static class CompressionStreams
{
    /// <summary>
    /// A write stream that compresses into <paramref name="output"/>. Call
    /// <see cref="CompressingStream.CompleteAsync"/> before disposing it, or the object stays unterminated.
    /// </summary>
    public static CompressingStream Compress(
        Stream output, Codec codec, CompressionSettings? settings = null, bool leaveOpen = false) =>
        new(output, codec, settings ?? CompressionSettings.Default, leaveOpen);

    /// <summary>
    /// A read stream that decompresses <paramref name="input"/>; <paramref name="displayName"/> names the object in
    /// <see cref="Integrity.CorruptObjectException"/> messages.
    /// </summary>
    public static DecompressingStream Decompress(Stream input, Codec codec, string displayName, bool leaveOpen = false) =>
        new(input, codec, displayName, leaveOpen);
}
