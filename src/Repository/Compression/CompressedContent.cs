namespace BackupDr.Repository.Compression;

/// <summary>
/// Decides whether a file's content is already compressed, so that the filestore backup stores it with
/// <see cref="Codec.None"/> instead of spending CPU on zstd for nothing. Looks at the first bytes (magic numbers,
/// which are the truth about the content) and at the MIME type Odoo recorded (which may be wrong or missing).
/// </summary>
/// <remarks>
/// Compressed: JPEG, PNG, GIF, WebP, HEIF/AVIF and MP4-family media, ZIP and everything built on it (XLSX, DOCX,
/// PPTX, ODF, JAR, EPUB), gzip, zstd, bzip2, xz, 7-Zip, RAR, MP3, Ogg. Not compressed: PDF (its streams are often
/// compressed, but the structure, fonts and images of many PDFs still shrink), text, XML, CSV, BMP, TIFF, unknown.
/// A wrong answer costs only ratio or CPU, never correctness: the stored codec is recorded and honoured on restore.
/// </remarks>
internal static class CompressedContent
{
    /// <summary>How many leading bytes <see cref="IsAlreadyCompressed"/> looks at; give at least this many if the file has them.</summary>
    public const int HeadLength = 16;

    private static readonly string[] CompressedMimeTypes =
    [
        "image/jpeg", "image/pjpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/avif",
        "application/zip", "application/x-zip-compressed", "application/gzip", "application/x-gzip",
        "application/zstd", "application/x-zstd", "application/x-bzip2", "application/x-xz",
        "application/x-7z-compressed", "application/vnd.rar", "application/x-rar-compressed",
        "application/java-archive", "application/epub+zip", "application/vnd.ms-excel.sheet.macroenabled.12",
        "audio/mpeg", "audio/ogg", "audio/mp4", "audio/aac", "video/mp4", "video/quicktime", "video/webm",
        "video/ogg", "video/x-matroska",
    ];

    private static readonly string[] CompressedMimePrefixes =
    [
        "application/vnd.openxmlformats-officedocument.", // xlsx, docx, pptx: ZIP containers
        "application/vnd.oasis.opendocument.", // odt, ods, odp: ZIP containers
    ];

    /// <summary>True when <paramref name="head"/> (the file's first bytes) or <paramref name="mimeType"/> says the
    /// content is compressed already.</summary>
    public static bool IsAlreadyCompressed(ReadOnlySpan<byte> head, string? mimeType = null) =>
        HasCompressedMagic(head) || IsCompressedMimeType(mimeType);

    /// <summary><see cref="Codec.None"/> for content that is already compressed, else <see cref="Codec.Zstd"/>.</summary>
    public static Codec ChooseCodec(ReadOnlySpan<byte> head, string? mimeType = null) =>
        IsAlreadyCompressed(head, mimeType) ? Codec.None : Codec.Zstd;

    public static bool IsCompressedMimeType(string? mimeType)
    {
        if (string.IsNullOrWhiteSpace(mimeType))
        {
            return false;
        }

        // Drop parameters ("image/png; charset=binary") and compare without case, as MIME types are case-insensitive.
        var semicolon = mimeType.IndexOf(';', StringComparison.Ordinal);
        var type = (semicolon >= 0 ? mimeType[..semicolon] : mimeType).Trim();
        foreach (var known in CompressedMimeTypes)
        {
            if (type.Equals(known, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var prefix in CompressedMimePrefixes)
        {
            if (type.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    public static bool HasCompressedMagic(ReadOnlySpan<byte> head) =>
        head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]) // JPEG
        || head.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) // PNG
        || head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8)
        || (head.StartsWith("RIFF"u8) && head.Length >= 12 && head.Slice(8, 4).SequenceEqual("WEBP"u8))
        || (head.Length >= 12 && head.Slice(4, 4).SequenceEqual("ftyp"u8)) // MP4, MOV, HEIC, AVIF, M4A
        || head.StartsWith("PK\x03\x04"u8) || head.StartsWith("PK\x05\x06"u8) || head.StartsWith("PK\x07\x08"u8) // ZIP, XLSX, DOCX
        || head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B]) // gzip
        || head.StartsWith((ReadOnlySpan<byte>)[0x28, 0xB5, 0x2F, 0xFD]) // zstd
        || head.StartsWith("BZh"u8) // bzip2
        || head.StartsWith((ReadOnlySpan<byte>)[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) // xz
        || head.StartsWith((ReadOnlySpan<byte>)[0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) // 7-Zip
        || head.StartsWith("Rar!\x1A\x07"u8) // RAR
        || head.StartsWith("OggS"u8)
        || head.StartsWith("ID3"u8) // MP3 with ID3 tag
        || head.StartsWith((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3]); // Matroska, WebM
}
