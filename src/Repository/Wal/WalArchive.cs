using System.Globalization;
using System.Security.Cryptography;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Compression;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Wal;

internal enum WalObjectKind
{
    /// <summary>A whole segment, as <c>pg_receivewal</c> closed it.</summary>
    Segment,

    /// <summary>The segment being written, as far as it was at one flush (full size, zero-padded after the end).</summary>
    Partial,

    /// <summary>A timeline history file (<c>TTTTTTTT.history</c>).</summary>
    History,
}

/// <summary>One object of the WAL archive, as listed: everything needed to read and check it is in its key.</summary>
/// <param name="FileName">The WAL file name PostgreSQL uses (segment or history file).</param>
/// <param name="Uploaded">For partials, the upload time in the key (they replace each other, newest wins).</param>
internal sealed record ArchivedWal(ObjectKey Key, WalObjectKind Kind, string FileName, uint Timeline, string Sha256, long SizeBytes, string Uploaded)
{
    /// <summary>The name bound into the object's encryption: a partial cannot pass for a whole segment, nor one file for another.</summary>
    public string LogicalName => WalArchive.LogicalName(FileName, Kind);
}

/// <summary>
/// A target's continuous WAL archive in the repository:
/// <code>
/// targets/&lt;target&gt;/wal/&lt;timeline&gt;/&lt;segment&gt;.&lt;sha256&gt;.zst.aesgcm                      a whole segment
/// targets/&lt;target&gt;/wal/&lt;timeline&gt;/&lt;segment&gt;.partial.&lt;uploaded&gt;.&lt;sha256&gt;.zst.aesgcm   the segment being written
/// targets/&lt;target&gt;/wal/&lt;timeline&gt;/&lt;timeline&gt;.history.&lt;sha256&gt;.zst.aesgcm                 a timeline history file
/// </code>
/// Objects are the repository's usual format (zstd with a checksum inside segmented AES-256-GCM) under the target's
/// WAL key (<see cref="WalKeys"/>): WAL outlives any one backup, so it cannot use a backup's data key, as filestore
/// packs cannot. No manifest lists WAL objects: each key carries the SHA-256 of its stored bytes, so a listing is
/// enough to read and check any object, and to check the chain for gaps. Objects are encoded in memory (a segment is
/// 16 MiB) so that the digest is known before the key is chosen; every write is create-only.
/// </summary>
internal sealed class WalArchive(IObjectStore store, string target, DataKey walKey)
{
    public const string CipherSuffix = BackupObjects.CipherSuffix;
    private const string PartialMarker = ".partial.";

    public IObjectStore Store { get; } = store;

    public string Target { get; } = target;

    public static string Prefix(string target) => $"targets/{target}/wal/";

    public static string LogicalName(string fileName, WalObjectKind kind) =>
        kind == WalObjectKind.Partial ? $"wal/{fileName}.partial" : $"wal/{fileName}";

    /// <summary>Encodes and stores one WAL file; returns what was stored.</summary>
    /// <param name="uploadedAt">Only for partials: orders them (the newest replaces the older ones).</param>
    public async Task<ArchivedWal> PutAsync(
        string fileName, WalObjectKind kind, ReadOnlyMemory<byte> content, DateTimeOffset uploadedAt, CancellationToken cancellationToken)
    {
        var timeline = TimelineOf(fileName, kind);
        using var encoded = new MemoryStream();
        await using (var encrypting = new EncryptingStream(encoded, walKey, LogicalName(fileName, kind), leaveOpen: true))
        {
            await using var compressing = CompressionStreams.Compress(encrypting, Codec.Zstd, new CompressionSettings(level: 1, workers: 1), leaveOpen: true);
            await compressing.WriteAsync(content, cancellationToken);
            await compressing.CompleteAsync(cancellationToken);
            await encrypting.CompleteAsync(cancellationToken);
        }

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(encoded.GetBuffer().AsSpan(0, (int)encoded.Length)));
        var uploaded = kind == WalObjectKind.Partial ? uploadedAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture) : "";
        var name = kind == WalObjectKind.Partial ? $"{fileName}{PartialMarker}{uploaded}.{sha256}" : $"{fileName}.{sha256}";
        var key = ObjectKey.Parse($"{Prefix(Target)}{timeline:X8}/{name}{Codec.Zstd.Suffix()}{CipherSuffix}");
        encoded.Position = 0;
        var put = await Store.PutAsync(key, encoded, PutOptions.CreateOnly, cancellationToken);
        return new ArchivedWal(key, kind, fileName, timeline, sha256, put.SizeBytes, uploaded);
    }

    /// <summary>Every WAL object of the target, in key order. Keys that are not WAL objects are reported, not skipped silently.</summary>
    public async Task<WalListing> ListAsync(CancellationToken cancellationToken)
    {
        var objects = new List<ArchivedWal>();
        var foreign = new List<ObjectKey>();
        await foreach (var info in Store.ListAsync(Prefix(Target), cancellationToken))
        {
            if (TryParseKey(info.Key, info.SizeBytes, out var wal))
            {
                objects.Add(wal);
            }
            else
            {
                foreign.Add(info.Key);
            }
        }

        return new WalListing(objects, foreign);
    }

    /// <summary>
    /// The object to serve for one WAL file name (a whole segment, else the newest partial; a history file), listing
    /// only that name's keys: recovery asks for one file at a time, and the archive may hold years of them.
    /// </summary>
    public async Task<ArchivedWal?> FindAsync(string fileName, CancellationToken cancellationToken)
    {
        var isHistory = WalSegmentName.TryParseHistory(fileName, out _);
        uint timeline;
        try
        {
            timeline = TimelineOf(fileName, isHistory ? WalObjectKind.History : WalObjectKind.Segment);
        }
        catch (ArgumentException)
        {
            return null;
        }

        var found = new List<ArchivedWal>();
        await foreach (var info in Store.ListAsync($"{Prefix(Target)}{timeline:X8}/{fileName}.", cancellationToken))
        {
            if (TryParseKey(info.Key, info.SizeBytes, out var wal) && wal.FileName == fileName)
            {
                found.Add(wal);
            }
        }

        return new WalListing(found, []).Find(fileName);
    }

    /// <summary>
    /// Opens the plaintext of an archived file: decrypted, decompressed, and checked against the SHA-256 and size in
    /// its key as it is read (read it to the end). Damage raises <see cref="CorruptObjectException"/>.
    /// </summary>
    public Task<Stream> OpenReadAsync(ArchivedWal wal, CancellationToken cancellationToken) =>
        BackupObjects.OpenReadAsync(Store, wal.Key, wal.LogicalName, new ObjectDigest(wal.SizeBytes, wal.Sha256), Codec.Zstd, walKey, cancellationToken);

    /// <summary>Reads an archived file whole and checks it; a segment must decode to the segment size.</summary>
    public async Task<byte[]> ReadAsync(ArchivedWal wal, long expectedBytes, CancellationToken cancellationToken)
    {
        await using var stream = await OpenReadAsync(wal, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        if (expectedBytes > 0 && buffer.Length != expectedBytes)
        {
            throw new CorruptObjectException(wal.Key.Value, $"decodes to {buffer.Length} bytes, not a WAL segment of {expectedBytes}");
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Reads what the archive serves for a listed object's file name now. A running archiver deletes a partial as soon
    /// as a newer partial or the whole segment is stored, so a partial listed a moment ago may be gone when it is read:
    /// the file name is then looked up again and its current object read. Anything else that vanished is not-found.
    /// </summary>
    public async Task<(ArchivedWal Wal, byte[] Content)> ReadCurrentAsync(ArchivedWal listed, CancellationToken cancellationToken)
    {
        const int Attempts = 5;
        var wal = listed;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return (wal, await ReadAsync(wal, 0, cancellationToken));
            }
            catch (ObjectNotFoundException e) when (wal.Kind == WalObjectKind.Partial && attempt < Attempts)
            {
                wal = await FindAsync(wal.FileName, cancellationToken)
                    ?? throw new ObjectNotFoundException(Store.Location, wal.Key, e);
            }
        }
    }

    public Task DeleteAsync(ArchivedWal wal, CancellationToken cancellationToken) => Store.DeleteAsync(wal.Key, cancellationToken);

    private static uint TimelineOf(string fileName, WalObjectKind kind)
    {
        if (kind == WalObjectKind.History)
        {
            return WalSegmentName.TryParseHistory(fileName, out var historyTimeline)
                ? historyTimeline
                : throw new ArgumentException($"'{fileName}' is not a timeline history file name", nameof(fileName));
        }

        // The timeline is the first 8 hex digits whatever the segment size.
        return fileName.Length == WalSegmentName.Length && uint.TryParse(fileName.AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var timeline)
            ? timeline
            : throw new ArgumentException($"'{fileName}' is not a WAL segment file name", nameof(fileName));
    }

    private static bool TryParseKey(ObjectKey key, long size, out ArchivedWal wal)
    {
        wal = null!;
        var name = key.Name;
        var suffix = Codec.Zstd.Suffix() + CipherSuffix;
        if (!name.EndsWith(suffix, StringComparison.Ordinal))
        {
            return false;
        }

        var stem = name[..^suffix.Length];
        var dot = stem.LastIndexOf('.');
        if (dot < 0 || stem.Length - dot - 1 != 64)
        {
            return false;
        }

        var sha = stem[(dot + 1)..];
        var file = stem[..dot];
        var kind = WalObjectKind.Segment;
        var uploaded = "";
        var partial = file.IndexOf(PartialMarker, StringComparison.Ordinal);
        if (partial > 0)
        {
            uploaded = file[(partial + PartialMarker.Length)..];
            file = file[..partial];
            kind = WalObjectKind.Partial;
        }
        else if (WalSegmentName.TryParseHistory(file, out _))
        {
            kind = WalObjectKind.History;
        }

        uint timeline;
        try
        {
            timeline = TimelineOf(file, kind);
        }
        catch (ArgumentException)
        {
            return false;
        }

        if (key.Value.Split('/') is not [_, _, _, var folder, _] || folder != timeline.ToString("X8", CultureInfo.InvariantCulture))
        {
            return false;
        }

        wal = new ArchivedWal(key, kind, file, timeline, sha, size, uploaded);
        return true;
    }
}

/// <summary>What a listing of the WAL archive found.</summary>
/// <param name="Foreign">Keys under the WAL prefix that are not WAL objects (damage, or someone else's files).</param>
internal sealed record WalListing(IReadOnlyList<ArchivedWal> Objects, IReadOnlyList<ObjectKey> Foreign)
{
    /// <summary>The object to serve for a file name: the whole segment when there is one, else the newest partial.</summary>
    public ArchivedWal? Find(string fileName) =>
        Objects.FirstOrDefault(o => o.FileName == fileName && o.Kind != WalObjectKind.Partial)
        ?? Objects.Where(o => o.FileName == fileName && o.Kind == WalObjectKind.Partial).MaxBy(o => o.Uploaded, StringComparer.Ordinal);
}

/// <summary>The key that encrypts a target's WAL archive, derived from the master key (HKDF, the target in the info).</summary>
internal static class WalKeys
{
    public const string PurposePrefix = "backupdr/wal/v1/";

    public static DataKey Derive(MasterKey masterKey, string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        using var material = masterKey.DeriveKey(PurposePrefix + target);
        return DataKey.FromBytes(material.AsSpan());
    }
}
