namespace BackupDr.Repository.Crypto;

/// <summary>No key slot of repository.json opens with the given passphrase. Names the slots tried, never a secret.</summary>
internal sealed class WrongPassphraseException : Exception
{
    public WrongPassphraseException(IReadOnlyList<string> keyIdsTried)
        : base($"the passphrase does not open this repository (key slots tried: {string.Join(", ", keyIdsTried)})")
    {
        KeyIdsTried = keyIdsTried;
    }

    public IReadOnlyList<string> KeyIdsTried { get; }
}
