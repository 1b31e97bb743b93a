namespace BackupDr.Repository.Compression;

/// <summary>How an object's content is compressed before encryption.</summary>
internal enum Codec
{
    /// <summary>Stored as is (content that is already compressed: JPEG, PNG, ZIP...).</summary>
    None,

    /// <summary>Zstandard, one frame with a content checksum.</summary>
    Zstd,
}

internal static class CodecNames
{
    /// <summary>
    /// The part of an object's name that says its codec, in the repository layout
    /// (<c>database.dump.zst.&lt;cipher&gt;</c>): ".zst" for zstd, nothing for <see cref="Codec.None"/>.
    /// </summary>
    public static string Suffix(this Codec codec) => codec switch
    {
        Codec.None => string.Empty,
        Codec.Zstd => ".zst",
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "unknown codec"),
    };

    /// <summary>The codec's name in manifests: "none" or "zstd".</summary>
    public static string Name(this Codec codec) => codec switch
    {
        Codec.None => "none",
        Codec.Zstd => "zstd",
        _ => throw new ArgumentOutOfRangeException(nameof(codec), codec, "unknown codec"),
    };

    /// <summary>Reads a name written by <see cref="Name"/>; false for anything else (exact, lower case).</summary>
    public static bool TryParse(string? name, out Codec codec)
    {
        switch (name)
        {
            case "none":
                codec = Codec.None;
                return true;
            case "zstd":
                codec = Codec.Zstd;
                return true;
            default:
                codec = default;
                return false;
        }
    }
}
