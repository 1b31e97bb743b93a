namespace BackupDr.Repository.Storage;

/// <summary>The repository's prefix inside a bucket or container, as configured.</summary>
internal static class StorePrefix
{
    /// <summary>
    /// "" stays ""; <c>/backups/fleet-a/</c> becomes <c>backups/fleet-a/</c>. Throws <see cref="ArgumentException"/>
    /// when the trimmed prefix is not a valid <see cref="ObjectKey"/>.
    /// </summary>
    public static string Normalize(string? prefix)
    {
        var trimmed = (prefix ?? "").Trim('/');
        if (trimmed.Length == 0)
        {
            return "";
        }

        return ObjectKey.TryParse(trimmed, out var key, out var error)
            ? key.Value + "/"
            : throw new ArgumentException($"invalid repository prefix '{prefix}': {error}", nameof(prefix));
    }
}
