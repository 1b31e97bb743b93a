namespace BackupDr.Repository.Crypto;

/// <summary>
/// A new passphrase breaks the passphrase rule (<see cref="PassphrasePolicy"/>). The message states the rule and never
/// the passphrase, its length or any part of it.
/// </summary>
internal sealed class WeakPassphraseException : ArgumentException
{
    public WeakPassphraseException(string rule, string paramName)
        : base(rule, paramName)
    {
    }
}
