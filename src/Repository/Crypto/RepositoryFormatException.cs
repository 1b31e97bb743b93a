namespace BackupDr.Repository.Crypto;

/// <summary>
/// repository.json cannot be used: it is not valid JSON, not a BackupDr repository document, written by a newer
/// BackupDr (format version above <see cref="RepositoryDocument.CurrentFormatVersion"/>), or its fields break the
/// format's rules. The message says which; it never contains a secret (the document holds none).
/// </summary>
internal sealed class RepositoryFormatException : Exception
{
    public RepositoryFormatException(string message)
        : base(message)
    {
    }

    public RepositoryFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
