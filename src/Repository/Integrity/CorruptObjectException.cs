namespace BackupDr.Repository.Integrity;

/// <summary>
/// An object in the repository failed a check on read: its checksum, size, authentication tag or framing does not
/// match what was written. The object is damaged (or was swapped, truncated or altered) and its content must not be
/// restored. The message names the object and what failed; it never carries key material or plaintext.
/// </summary>
internal sealed class CorruptObjectException : Exception
{
    public CorruptObjectException(string objectName, string reason)
        : base(BuildMessage(objectName, reason))
    {
        ObjectName = objectName;
        Reason = reason;
    }

    public CorruptObjectException(string objectName, string reason, Exception innerException)
        : base(BuildMessage(objectName, reason), innerException)
    {
        ObjectName = objectName;
        Reason = reason;
    }

    /// <summary>The object's key or display name, as the caller gave it.</summary>
    public string ObjectName { get; }

    /// <summary>What failed, e.g. "segment 3 failed authentication".</summary>
    public string Reason { get; }

    private static string BuildMessage(string objectName, string reason) =>
        $"object '{objectName}' is damaged and must not be restored: {reason}";
}
