using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace BackupDr.Repository.Backups;

/// <summary>
/// A backup's id: its start time in UTC to the millisecond plus a random suffix, e.g. <c>20261123T145012123Z-3f9a1c</c>.
/// Ordinal order of ids is time order, so listings sort without reading manifests.
/// </summary>
internal readonly partial record struct BackupId
{
    private const string TimeFormat = "yyyyMMdd'T'HHmmssfff'Z'";

    private BackupId(string value) => Value = value;

    public string Value { get; }

    /// <summary>The start time the id was made from (UTC, milliseconds).</summary>
    public DateTimeOffset StartedAt =>
        DateTimeOffset.ParseExact(Value[..19], TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static BackupId New(TimeProvider time)
    {
        var stamp = time.GetUtcNow().ToString(TimeFormat, CultureInfo.InvariantCulture);
        return new BackupId($"{stamp}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}");
    }

    public static bool TryParse(string? value, out BackupId id)
    {
        id = default;
        if (value is null || !Pattern().IsMatch(value)
            || !DateTimeOffset.TryParseExact(value[..19], TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
        {
            return false;
        }

        id = new BackupId(value);
        return true;
    }

    public static BackupId Parse(string value) =>
        TryParse(value, out var id) ? id : throw new FormatException($"'{value}' is not a backup id (e.g. 20261123T145012123Z-3f9a1c).");

    public override string ToString() => Value;

    [GeneratedRegex("^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{6}$")]
    private static partial Regex Pattern();
}
