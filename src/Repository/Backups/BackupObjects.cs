using BackupDr.Repository.Compression;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <summary>
/// Writes and reads the objects of a backup: plaintext -> compression -> segmented AES-256-GCM -> object store, all
/// streamed with bounded memory (no temporary copy). A write that fails or is cancelled leaves nothing visible: the
/// store aborts the upload, and an encrypting stream that was never completed never writes its final segment.
/// </summary>
internal static class BackupObjects
{
    public const string CipherSuffix = ".aesgcm";

    /// <summary>Bytes the pipe between the pipeline and the upload may hold before the producer waits.</summary>
    private const long PipeBufferBytes = 8L << 20;

    /// <summary>
    /// Stores what <paramref name="produce"/> writes (plaintext) as object <paramref name="name"/> of a backup, under
    /// its layout key (name, codec suffix, cipher suffix).
    /// <paramref name="produce"/> must write everything and return; it must not dispose the stream it is given.
    /// </summary>
    public static async Task<ManifestObject> WriteAsync(
        IObjectStore store,
        string target,
        BackupId backupId,
        string name,
        Codec codec,
        DataKey dataKey,
        CompressionSettings compression,
        Func<Stream, CancellationToken, Task> produce,
        CancellationToken cancellationToken)
    {
        var key = RepositoryLayout.Object(target, backupId, name, codec.Suffix() + CipherSuffix);
        return await WriteAsync(store, key, name, codec, dataKey, compression, produce, cancellationToken);
    }

    /// <summary>Stores what <paramref name="produce"/> writes as the object <paramref name="key"/> (see the overload above).</summary>
    public static async Task<ManifestObject> WriteAsync(
        IObjectStore store,
        ObjectKey key,
        string name,
        Codec codec,
        DataKey dataKey,
        CompressionSettings compression,
        Func<Stream, CancellationToken, Task> produce,
        CancellationToken cancellationToken)
    {
        await using var upload = EncryptedUpload.Start(store, key, name, dataKey, PipeBufferBytes, cancellationToken);
        long plainBytes;
        try
        {
            await using var compressing = CompressionStreams.Compress(upload.Plaintext, codec, compression, leaveOpen: true);
            await produce(compressing, upload.Token);
            await compressing.CompleteAsync(upload.Token);
            plainBytes = compressing.UncompressedLength;
        }
        catch (Exception producerFailure)
        {
            throw UploadFailure.Rethrow(await upload.FailAsync(producerFailure, cancellationToken));
        }

        var stored = await upload.CompleteAsync(cancellationToken);
        return new ManifestObject(name, key.Value, codec.Name(), stored.SizeBytes, stored.Sha256Hex, plainBytes);
    }

    /// <summary>
    /// Opens a stored object for reading its plaintext. Every byte is authenticated as it is read; the stored
    /// object's size and SHA-256 are checked against the manifest at the end, so read it to its end (or call
    /// <see cref="VerifyingReadStream.VerifyToEndAsync"/>). Damage raises <see cref="CorruptObjectException"/>.
    /// </summary>
    public static async Task<Stream> OpenReadAsync(IObjectStore store, ManifestObject entry, DataKey dataKey, CancellationToken cancellationToken)
    {
        if (!CodecNames.TryParse(entry.Codec, out var codec))
        {
            throw new CorruptObjectException(entry.Key, $"unknown codec '{entry.Codec}'");
        }

        return await OpenReadAsync(store, ObjectKey.Parse(entry.Key), entry.Name, new ObjectDigest(entry.SizeBytes, entry.Sha256), codec, dataKey, cancellationToken);
    }

    /// <summary>Opens any encrypted object whose stored size and SHA-256 are known (see the overload above).</summary>
    public static async Task<Stream> OpenReadAsync(
        IObjectStore store, ObjectKey key, string name, ObjectDigest digest, Codec codec, DataKey dataKey, CancellationToken cancellationToken)
    {
        var stored = await store.OpenReadAsync(key, cancellationToken);
        var verifying = new VerifyingReadStream(stored, digest, key.Value);
        var decrypting = new DecryptingStream(verifying, dataKey, name, key.Value);
        return CompressionStreams.Decompress(decrypting, codec, key.Value);
    }
}
