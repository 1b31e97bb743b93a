using System.Globalization;
using System.Numerics;
using Microsoft.Extensions.Configuration;

namespace BackupDr.Repository.Configuration;

/// <summary>
/// Reads typed values from configuration sections and collects every problem instead of stopping at the
/// first one (which is what <c>ConfigurationBinder</c> does). Unknown keys are reported too: a misspelled
/// setting that is silently ignored is a backup that silently does not happen.
/// </summary>
internal sealed class SectionReader
{
    private readonly List<ConfigurationError> _errors = [];

    public IReadOnlyList<ConfigurationError> Errors => _errors;

    public void Error(string key, string message) => _errors.Add(new ConfigurationError(key, message));

    public void RejectUnknownKeys(IConfigurationSection section, params string[] known)
    {
        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                Error(child.Path, $"unknown setting; known settings here: {string.Join(", ", known)}");
            }
        }
    }

    public static string String(IConfigurationSection section, string key) => Value(section, key) ?? "";

    /// <summary>A required, strictly positive duration.</summary>
    public TimeSpan Duration(IConfigurationSection section, string key)
    {
        var value = Value(section, key);
        if (value is null)
        {
            Error(Path(section, key), "required; write a duration as [d.]hh:mm:ss, e.g. 01:00:00 or 7.00:00:00");
            return TimeSpan.Zero;
        }

        if (!TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var duration))
        {
            Error(Path(section, key), $"'{value}' is not a duration; write [d.]hh:mm:ss, e.g. 01:00:00 or 7.00:00:00");
            return TimeSpan.Zero;
        }

        if (duration <= TimeSpan.Zero)
        {
            Error(Path(section, key), $"{value} is not a positive duration");
        }

        return duration;
    }

    /// <summary>An optional duration: <paramref name="defaultValue"/> when unset; negative never, zero only when allowed.</summary>
    public TimeSpan OptionalDuration(IConfigurationSection section, string key, TimeSpan defaultValue, bool allowZero = false)
    {
        var value = Value(section, key);
        if (value is null)
        {
            return defaultValue;
        }

        if (!TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var duration))
        {
            Error(Path(section, key), $"'{value}' is not a duration; write [d.]hh:mm:ss, e.g. 00:00:30 or 1.00:00:00");
            return defaultValue;
        }

        if (duration < TimeSpan.Zero || (duration == TimeSpan.Zero && !allowZero))
        {
            Error(Path(section, key), $"{value} is not a {(allowZero ? "non-negative" : "positive")} duration");
        }

        return duration;
    }

    /// <summary>An optional, strictly positive duration: null when absent.</summary>
    public TimeSpan? OptionalDuration(IConfigurationSection section, string key) =>
        Value(section, key) is null ? null : Duration(section, key);

    public decimal? OptionalDecimal(IConfigurationSection section, string key)
    {
        var value = Value(section, key);
        if (value is null)
        {
            return null;
        }

        if (!decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            Error(Path(section, key), $"'{value}' is not a number");
            return null;
        }

        return number;
    }

    public int Int(IConfigurationSection section, string key, int defaultValue) => Number(section, key, defaultValue);

    public long Long(IConfigurationSection section, string key, long defaultValue) => Number(section, key, defaultValue);

    public bool Bool(IConfigurationSection section, string key, bool defaultValue) =>
        OptionalBool(section, key) ?? defaultValue;

    public bool? OptionalBool(IConfigurationSection section, string key)
    {
        var value = Value(section, key);
        if (value is null)
        {
            return null;
        }

        if (!bool.TryParse(value, out var flag))
        {
            Error(Path(section, key), $"'{value}' is not true or false");
            return null;
        }

        return flag;
    }

    public TEnum Enum<TEnum>(IConfigurationSection section, string key, TEnum defaultValue)
        where TEnum : struct, Enum
    {
        var value = Value(section, key);
        if (value is null)
        {
            return defaultValue;
        }

        // Names only: Enum.TryParse would also accept "7".
        var match = System.Enum.GetNames<TEnum>().FirstOrDefault(n => string.Equals(n, value, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            Error(Path(section, key), $"'{value}' is not one of {string.Join(", ", System.Enum.GetNames<TEnum>())}");
            return defaultValue;
        }

        return System.Enum.Parse<TEnum>(match);
    }

    /// <summary>A list written as a JSON array or as indexed keys (<c>OnCall__0</c>, <c>OnCall__1</c>).</summary>
    public IReadOnlyList<string> List(IConfigurationSection section, string key)
    {
        var list = section.GetSection(key);
        if (list.Value is { Length: > 0 })
        {
            Error(list.Path, "must be a list (a JSON array, or keys ending in :0, :1, ...), not a single value");
            return [];
        }

        return list.GetChildren()
            .OrderBy(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : int.MaxValue)
            .Select(c => c.Value ?? "")
            .ToList();
    }

    private T Number<T>(IConfigurationSection section, string key, T defaultValue)
        where T : IBinaryInteger<T>
    {
        var value = Value(section, key);
        if (value is null)
        {
            return defaultValue;
        }

        if (!T.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            Error(Path(section, key), $"'{value}' is not a whole number");
            return defaultValue;
        }

        return number;
    }

    private static string? Value(IConfigurationSection section, string key)
    {
        var value = section[key];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private static string Path(IConfigurationSection section, string key) => ConfigurationPath.Combine(section.Path, key);
}
