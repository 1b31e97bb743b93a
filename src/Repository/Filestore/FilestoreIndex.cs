using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using BackupDr.Repository.Integrity;

namespace BackupDr.Repository.Filestore;

/// <summary>
/// The filestore half of one backup (object <c>filestore.index</c>, encrypted with the backup's data key, listed in the
/// sealed manifest): every file backed up with where its content lives, the packs those locations need, and the
/// damage found at the source. A restore needs nothing else besides the packs.
/// </summary>
internal sealed record FilestoreIndex
{
    public const string SchemaName = "backupdr-filestore-index";
    public const int CurrentSchemaVersion = 1;

    /// <summary>The logical object name in the manifest.</summary>
    public const string ObjectName = "filestore.index";

    public string Schema { get; init; } = SchemaName;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string Target { get; init; }
    public required string BackupId { get; init; }

    /// <summary>Ordered by name.</summary>
    public required IReadOnlyList<IndexedFile> Files { get; init; }

    /// <summary>Every pack a file above lives in, ordered by id.</summary>
    public required IReadOnlyList<IndexedPack> Packs { get; init; }

    public required IReadOnlyList<FileProblem> Problems { get; init; }

    /// <summary>Files on disk that no <c>ir_attachment</c> row referenced at the recovery point.</summary>
    public required long UnreferencedFiles { get; init; }

    public required long UnreferencedBytes { get; init; }
}

/// <param name="Name">The <c>store_fname</c>: the path under the filestore folder, <c>&lt;sha1[0:2]&gt;/&lt;sha1&gt;</c>.</param>
/// <param name="Sha1">SHA-1 of the content, lower-case hex (checked when the content was read).</param>
/// <param name="SizeBytes">Size of the file.</param>
/// <param name="Blob">The keyed blob id (<see cref="FilestoreKeys.BlobId(string)"/>).</param>
/// <param name="Pack">The pack holding the blob.</param>
/// <param name="Offset">Where the blob's stored bytes start in the pack's plaintext.</param>
/// <param name="Length">Stored bytes of the blob (after compression).</param>
/// <param name="Codec">"zstd" or "none".</param>
/// <param name="Referenced">False for a file no row referenced, copied because the target includes unreferenced files.</param>
internal sealed record IndexedFile(
    string Name, string Sha1, long SizeBytes, string Blob, string Pack, long Offset, long Length, string Codec, bool Referenced = true);

/// <param name="Key">The pack's object key.</param>
/// <param name="SizeBytes">Stored (encrypted) size.</param>
/// <param name="Sha256">SHA-256 of the stored bytes.</param>
/// <param name="PlainSizeBytes">Plaintext size (the sum of its blobs' stored lengths).</param>
internal sealed record IndexedPack(string Id, string Key, long SizeBytes, string Sha256, long PlainSizeBytes)
{
    [JsonIgnore]
    public ObjectDigest Digest => new(SizeBytes, Sha256);
}

internal enum FileProblemKind
{
    /// <summary>A row references the file; it is not on disk.</summary>
    Missing,

    /// <summary>The content's SHA-1 is not the one its name says: the file was altered or damaged at the source.</summary>
    ContentMismatch,

    /// <summary>The file exists but could not be read (permissions, I/O error).</summary>
    Unreadable,

    /// <summary>The name is not Odoo's content-addressed <c>&lt;sha1[0:2]&gt;/&lt;sha1&gt;</c> (or is not a safe relative path).</summary>
    UnsupportedName,
}

internal sealed record FileProblem(string Name, FileProblemKind Kind, string Detail);

/// <summary>
/// The table of contents of one pack (object <c>&lt;pack-id&gt;.toc</c> beside the pack, encrypted with the target's
/// pack key). It is written only after the store confirmed the whole pack, so a pack without it is incomplete and is
/// never reused; a later backup may reuse the blobs of a pack that has one even when no manifest references it yet
/// (the backup that wrote it was interrupted).
/// </summary>
internal sealed record PackToc
{
    public const string SchemaName = "backupdr-filestore-pack";
    public const int CurrentSchemaVersion = 1;

    public string Schema { get; init; } = SchemaName;
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string Target { get; init; }
    public required IndexedPack Pack { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required IReadOnlyList<PackedBlob> Blobs { get; init; }
}

/// <param name="Id">Keyed blob id.</param>
/// <param name="Offset">Start of the stored bytes in the pack's plaintext.</param>
/// <param name="Length">Stored bytes.</param>
/// <param name="SizeBytes">Original size.</param>
/// <param name="Codec">"zstd" or "none".</param>
internal sealed record PackedBlob(string Id, long Offset, long Length, long SizeBytes, string Codec);

/// <summary>
/// JSON of the index and the tables of contents. Source-generated: a no-change backup reads and writes one index of
/// every file, and reflection-based serialization cost more (first-use metadata and JIT) than the rest of it.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(FilestoreIndex))]
[JsonSerializable(typeof(PackToc))]
internal sealed partial class FilestoreJsonContext : JsonSerializerContext;

internal static class FilestoreJson
{
    public static byte[] Serialize(FilestoreIndex index) => JsonSerializer.SerializeToUtf8Bytes(index, FilestoreJsonContext.Default.FilestoreIndex);

    public static byte[] Serialize(PackToc toc) => JsonSerializer.SerializeToUtf8Bytes(toc, FilestoreJsonContext.Default.PackToc);

    /// <exception cref="CorruptObjectException">Not valid JSON of the expected schema.</exception>
    public static FilestoreIndex ReadIndex(ReadOnlySpan<byte> json, string key)
    {
        var index = Deserialize(json, key, FilestoreJsonContext.Default.FilestoreIndex);
        Check(index.Schema == FilestoreIndex.SchemaName && index.SchemaVersion <= FilestoreIndex.CurrentSchemaVersion, key, "a filestore index");
        return index;
    }

    public static PackToc ReadToc(ReadOnlySpan<byte> json, string key)
    {
        var toc = Deserialize(json, key, FilestoreJsonContext.Default.PackToc);
        Check(toc.Schema == PackToc.SchemaName && toc.SchemaVersion <= PackToc.CurrentSchemaVersion, key, "a pack table of contents");
        return toc;
    }

    private static T Deserialize<T>(ReadOnlySpan<byte> json, string key, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(json, type) ?? throw new CorruptObjectException(key, "it is empty");
        }
        catch (JsonException e)
        {
            throw new CorruptObjectException(key, $"it is not valid JSON: {e.Message}", e);
        }
    }

    private static void Check(bool ok, string key, string what)
    {
        if (!ok)
        {
            throw new CorruptObjectException(key, $"it is not {what} this backupdr understands (upgrade backupdr if it is newer)");
        }
    }
}
