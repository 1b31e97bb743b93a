using System.Diagnostics.CodeAnalysis;

namespace BackupDr.Repository.Storage;

/// <summary>
/// A validated object key: '/'-separated segments of <c>[A-Za-z0-9._=-]</c>, no empty, <c>.</c> or <c>..</c>
/// segment, no leading or trailing '/', at most <see cref="MaxLength"/> bytes (UTF-8; the alphabet is ASCII).
/// Keys compare ordinally, which is the order every store lists them in.
/// </summary>
/// <remarks>
/// The alphabet is deliberately small: a key is the same string on a file system, in an S3 bucket and in an Azure
/// container, needs no escaping anywhere, and cannot collide with the local store's temporary names (which use '~').
/// </remarks>
internal readonly record struct ObjectKey : IComparable<ObjectKey>
{
    public const int MaxLength = 1024;

    private readonly string? _value;

    private ObjectKey(string value) => _value = value;

    /// <summary>The key text; empty only for <c>default(ObjectKey)</c>, which no store accepts.</summary>
    public string Value => _value ?? "";

    /// <summary>The last segment, e.g. <c>manifest.json</c>.</summary>
    public string Name => Value[(Value.LastIndexOf('/') + 1)..];

    public static ObjectKey Parse(string value) =>
        TryParse(value, out var key, out var error)
            ? key
            : throw new ArgumentException($"invalid object key '{Printable(value)}': {error}", nameof(value));

    public static bool TryParse([NotNullWhen(true)] string? value, out ObjectKey key) => TryParse(value, out key, out _);

    public static bool TryParse([NotNullWhen(true)] string? value, out ObjectKey key, [NotNullWhen(false)] out string? error)
    {
        key = default;
        error = Check(value, allowEmpty: false);
        if (error is not null)
        {
            return false;
        }

        key = new ObjectKey(value!);
        return true;
    }

    /// <summary>
    /// Checks a listing prefix: empty, or characters of the key alphabet and '/', no leading '/', no empty, <c>.</c>
    /// or <c>..</c> segment before the last '/'. The last segment may be partial (<c>targets/ac</c> matches
    /// <c>targets/acme/...</c>). Throws <see cref="ArgumentException"/> naming the problem.
    /// </summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var lastSlash = prefix.LastIndexOf('/');
        var complete = lastSlash < 0 ? "" : prefix[..lastSlash];
        var partial = prefix[(lastSlash + 1)..];
        var error = lastSlash == 0
            ? "it starts with '/'"
            : Check(complete, allowEmpty: true) ?? CheckCharacters(partial);
        if (error is not null)
        {
            throw new ArgumentException($"invalid key prefix '{Printable(prefix)}': {error}", nameof(prefix));
        }
    }

    /// <summary>This key with one more segment; throws <see cref="ArgumentException"/> if the result is invalid.</summary>
    public ObjectKey Append(string segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (segment.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"a segment cannot contain '/': '{Printable(segment)}'", nameof(segment));
        }

        return Parse(Value.Length == 0 ? segment : $"{Value}/{segment}");
    }

    public static ObjectKey operator /(ObjectKey key, string segment) => key.Append(segment);

    public bool StartsWith(string prefix) => Value.StartsWith(prefix, StringComparison.Ordinal);

    public int CompareTo(ObjectKey other) => string.CompareOrdinal(Value, other.Value);

    public static bool operator <(ObjectKey left, ObjectKey right) => left.CompareTo(right) < 0;

    public static bool operator <=(ObjectKey left, ObjectKey right) => left.CompareTo(right) <= 0;

    public static bool operator >(ObjectKey left, ObjectKey right) => left.CompareTo(right) > 0;

    public static bool operator >=(ObjectKey left, ObjectKey right) => left.CompareTo(right) >= 0;

    public override string ToString() => Value;

    internal static bool IsKeyCharacter(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '=' or '-';

    private static string? Check(string? value, bool allowEmpty)
    {
        if (value is null)
        {
            return "it is null";
        }

        if (value.Length == 0)
        {
            return allowEmpty ? null : "it is empty";
        }

        if (value.Length > MaxLength)
        {
            return $"it is longer than {MaxLength} bytes";
        }

        if (value[0] == '/')
        {
            return "it starts with '/'";
        }

        if (value[^1] == '/')
        {
            return "it ends with '/'";
        }

        foreach (var segment in value.Split('/'))
        {
            if (segment.Length == 0)
            {
                return "it has an empty segment ('//')";
            }

            if (segment is "." or "..")
            {
                return $"it has a '{segment}' segment";
            }

            if (CheckCharacters(segment) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    private static string? CheckCharacters(string text)
    {
        foreach (var c in text)
        {
            if (!IsKeyCharacter(c))
            {
                return $"character '{Printable(c.ToString())}' is not one of A-Z a-z 0-9 . _ = -";
            }
        }

        return null;
    }

    private static string Printable(string? text)
    {
        if (text is null)
        {
            return "(null)";
        }

        var shown = text.Length > 80 ? text[..80] + "..." : text;
        return string.Concat(shown.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
    }
}
