namespace BackupDr.Repository.Storage;

/// <summary>
/// The byte-level seam to a repository's storage: a local folder, an S3 bucket or an Azure container, under a prefix.
/// Every implementation honours the same contract (tests/*/Storage/ObjectStoreContract.cs runs against each):
/// an object becomes visible whole or not at all; keys list in ordinal order; errors are the project's
/// <see cref="StorageException"/> family, never an SDK type; <see cref="OperationCanceledException"/> escapes unwrapped.
/// Implementations are safe for concurrent use by several callers.
/// </summary>
internal interface IObjectStore
{
    StoreCapabilities Capabilities { get; }

    /// <summary>Where the objects live, for messages (<c>s3://bucket/prefix</c>, <c>azure://account/container/prefix</c>, a path). Never a secret.</summary>
    string Location { get; }

    /// <summary>
    /// Stores everything <paramref name="source"/> yields under <paramref name="key"/>, replacing an existing object
    /// unless <see cref="PutOptions.IfNotExists"/>. The source may be non-seekable and of unknown length; it is read
    /// once, to its end, and not disposed (the caller owns it). Large objects go up in parts with bounded memory;
    /// on failure or cancellation nothing of this upload becomes visible (an object it replaces stays as it was).
    /// </summary>
    /// <returns>The size and SHA-256 of the bytes stored, computed while streaming.</returns>
    /// <exception cref="ObjectAlreadyExistsException">IfNotExists was set and the key exists.</exception>
    Task<PutResult> PutAsync(ObjectKey key, Stream source, PutOptions options, CancellationToken cancellationToken);

    /// <summary>Opens the object for sequential reading; the caller disposes the stream.</summary>
    /// <exception cref="ObjectNotFoundException">No object has that key.</exception>
    Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken);

    /// <summary>Size and modification time, or null when no object has that key.</summary>
    Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken);

    /// <summary>
    /// Every object whose key starts with <paramref name="prefix"/> (plain string prefix, recursive; "" lists all), in
    /// ordinal key order, fetched lazily page by page. Uploads in progress or abandoned are never listed.
    /// </summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Removes the object. Idempotent: deleting a missing object succeeds.</summary>
    Task DeleteAsync(ObjectKey key, CancellationToken cancellationToken);
}

/// <param name="ConditionalCreate">
/// True when <see cref="PutOptions.IfNotExists"/> is atomic (the server or file system refuses a second creator).
/// False when it is a best-effort check before the upload only (S3-compatible servers that ignore If-None-Match).
/// </param>
/// <param name="MaxObjectSizeBytes">The largest object Put accepts, given the part-size rule and the service limits.</param>
internal sealed record StoreCapabilities(bool ConditionalCreate, long MaxObjectSizeBytes);

internal sealed record PutOptions
{
    /// <summary>Fail with <see cref="ObjectAlreadyExistsException"/> instead of replacing an existing object.</summary>
    public bool IfNotExists { get; init; }

    public static PutOptions Default { get; } = new();

    public static PutOptions CreateOnly { get; } = new() { IfNotExists = true };
}

/// <param name="Key">The key written.</param>
/// <param name="SizeBytes">Bytes stored.</param>
/// <param name="Sha256Hex">SHA-256 of the bytes stored, lower-case hex.</param>
internal sealed record PutResult(ObjectKey Key, long SizeBytes, string Sha256Hex);

internal sealed record ObjectInfo(ObjectKey Key, long SizeBytes, DateTimeOffset LastModified);
