namespace BackupDr.Repository.Storage;

/// <summary>
/// A store operation failed. The message names the store's location and the key (never a credential).
/// <see cref="IsTransient"/> says whether the same request may succeed later (network, throttling, 5xx); the stores
/// have already retried transient failures before this escapes, so callers do not retry again.
/// </summary>
internal class StorageException : Exception
{
    public StorageException(string location, ObjectKey? key, string message, bool isTransient, Exception? innerException = null)
        : base(BuildMessage(location, key, message), innerException)
    {
        Location = location;
        Key = key;
        IsTransient = isTransient;
    }

    public string Location { get; }

    /// <summary>The object concerned, or null for store-wide operations (listing).</summary>
    public ObjectKey? Key { get; }

    public bool IsTransient { get; }

    private static string BuildMessage(string location, ObjectKey? key, string message) =>
        key is { } k ? $"{location}: object '{k}': {message}" : $"{location}: {message}";
}

/// <summary>No object has the key (S3 404/NoSuchKey, Azure BlobNotFound, a missing file).</summary>
internal sealed class ObjectNotFoundException(string location, ObjectKey key, Exception? innerException = null)
    : StorageException(location, key, "not found", isTransient: false, innerException);

/// <summary>The credentials are wrong or lack a permission (HTTP 403, AccessDenied, AuthorizationFailure, EACCES).</summary>
internal sealed class AccessDeniedException(string location, ObjectKey? key, string detail, Exception? innerException = null)
    : StorageException(location, key, $"access denied ({detail})", isTransient: false, innerException);

/// <summary>A create-only Put (<see cref="PutOptions.IfNotExists"/>) found the key taken; nothing was replaced.</summary>
internal sealed class ObjectAlreadyExistsException(string location, ObjectKey key, Exception? innerException = null)
    : StorageException(location, key, "already exists (create-only write refused)", isTransient: false, innerException);
