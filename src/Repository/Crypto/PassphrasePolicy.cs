using System.Text;

namespace BackupDr.Repository.Crypto;

/// <summary>
/// The rule a new passphrase must meet: at least <see cref="MinimumLength"/> characters (Unicode scalar values), not
/// blank. Checked when a repository is created and when its passphrase changes; unlocking takes any passphrase.
/// </summary>
/// <remarks>
/// The passphrase is used exactly as given (UTF-8, no trimming, no Unicode normalization), so that the same bytes
/// open the repository on every machine. Whoever reads it from a file strips the file's trailing newline.
/// </remarks>
internal static class PassphrasePolicy
{
    public const int MinimumLength = 12;

    public static void EnsureStrong(string passphrase, string paramName)
    {
        ArgumentNullException.ThrowIfNull(passphrase, paramName);
        if (string.IsNullOrWhiteSpace(passphrase))
        {
            throw new WeakPassphraseException("the passphrase must not be empty or blank", paramName);
        }

        var length = 0;
        foreach (var _ in passphrase.EnumerateRunes())
        {
            length++;
        }

        if (length < MinimumLength)
        {
            throw new WeakPassphraseException(
                $"the passphrase must be at least {MinimumLength} characters long", paramName);
        }

        if (Encoding.UTF8.GetByteCount(passphrase) > 1024)
        {
            throw new WeakPassphraseException("the passphrase must be at most 1024 bytes in UTF-8", paramName);
        }
    }
}
