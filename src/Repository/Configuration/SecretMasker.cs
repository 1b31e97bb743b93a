using System.Data.Common;
using System.Text.RegularExpressions;

namespace BackupDr.Repository.Configuration;

/// <summary>Masks secrets for display. Whatever it returns is safe to print, log or store.</summary>
public static partial class SecretMasker
{
    public const string Mask = "***";

    /// <summary>Masks the whole value: passphrases, passwords, signing secrets.</summary>
    public static string Secret(string value) => value.Length == 0 ? "" : Mask;

    /// <summary>
    /// Keeps the harmless parts of a <c>Key=Value;</c> connection string (host, database, user, account name)
    /// and masks every value whose key names a credential. An unparseable string is masked whole.
    /// </summary>
    public static string ConnectionString(string value)
    {
        if (value.Length == 0)
        {
            return "";
        }

        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = value;
        }
        catch (ArgumentException)
        {
            return Mask;
        }

        foreach (var key in builder.Keys.Cast<string>().ToList())
        {
            if (CredentialKey().IsMatch(key))
            {
                builder[key] = Mask;
            }
        }

        return builder.ConnectionString;
    }

    /// <summary>Keeps scheme and host of a URL; masks user info, path and query, where webhook credentials live.</summary>
    public static string Url(string value)
    {
        if (value.Length == 0)
        {
            return "";
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            return Mask;
        }

        var hasSecretPart = uri.UserInfo.Length > 0 || uri.AbsolutePath.Length > 1 || uri.Query.Length > 0;
        return $"{uri.Scheme}://{uri.Authority}/{(hasSecretPart ? Mask : "")}";
    }

    [GeneratedRegex("password|pwd|key|secret|signature|token|sas", RegexOptions.IgnoreCase)]
    private static partial Regex CredentialKey();
}
