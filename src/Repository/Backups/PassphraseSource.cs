using BackupDr.Repository.Configuration;

namespace BackupDr.Repository.Backups;

/// <summary>No passphrase is configured, or its file cannot be read. A configuration problem: exit code 2.</summary>
internal sealed class PassphraseUnavailableException(string message) : Exception(message);

/// <summary>Reads the repository passphrase from <c>PassphraseFile</c> or the <c>BackupDr__Repository__Passphrase</c> variable.</summary>
internal static class PassphraseSource
{
    public static string Read(RepositoryOptions options) => options.PassphraseFile.Length > 0
        ? ReadFile(options.PassphraseFile, "BackupDr:Repository:PassphraseFile")
        : options.Passphrase.Length > 0
            ? options.Passphrase
            : throw new PassphraseUnavailableException(
                "no repository passphrase: set BackupDr:Repository:PassphraseFile (a mounted secret) or the environment variable BackupDr__Repository__Passphrase.");

    /// <summary>The file's content without its trailing line break (editors and <c>echo</c> add one).</summary>
    public static string ReadFile(string path, string setting)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PassphraseUnavailableException($"{setting}: cannot read '{path}': {e.Message}");
        }

        text = text.TrimEnd('\r', '\n');
        return text.Length > 0 ? text : throw new PassphraseUnavailableException($"{setting}: '{path}' is empty.");
    }
}
