using System.Text.Json.Nodes;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Storage;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    private async Task<int> RepoInitAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var store = invocation.OpenStore();
        var passphrase = PassphraseSource.Read(invocation.Options.Repository);
        try
        {
            var document = await BackupRepository.InitializeAsync(store, passphrase, invocation.Time, cancellationToken);
            var slot = document.Keys[0];
            return invocation.Output.Success(
                new JsonObject
                {
                    ["repository"] = store.Location,
                    ["repositoryId"] = document.RepositoryId.ToString(),
                    ["formatVersion"] = document.FormatVersion,
                    ["masterKeyId"] = document.MasterKeyId,
                    ["keySlot"] = slot.KeyId,
                    ["kdf"] = $"{slot.Kdf.Algorithm}, {slot.Kdf.Iterations} iterations",
                },
                $"Created repository {document.RepositoryId} at {store.Location} (format {document.FormatVersion}, key slot {slot.KeyId}, "
                + $"{slot.Kdf.Algorithm} with {slot.Kdf.Iterations} iterations).{Environment.NewLine}"
                + "Keep the passphrase safe: without it no backup in this repository can be read.");
        }
        catch (ObjectAlreadyExistsException) when (invocation.Parse.GetValue(_ifMissing))
        {
            // An init step that runs before every start (the chart's init container): the existing repository must be
            // the one this passphrase opens; a wrong passphrase escapes as WrongPassphraseException (exit 2).
            using var existing = await BackupRepository.OpenAsync(store, passphrase, cancellationToken);
            return invocation.Output.Success(
                new JsonObject
                {
                    ["repository"] = store.Location,
                    ["repositoryId"] = existing.Document.RepositoryId.ToString(),
                    ["formatVersion"] = existing.Document.FormatVersion,
                    ["existed"] = true,
                },
                $"Repository {existing.Document.RepositoryId} already exists at {store.Location} and the passphrase opens it; left untouched.");
        }
        catch (ObjectAlreadyExistsException)
        {
            return invocation.Output.Fail(ExitCodes.Failed,
                $"a repository already exists at {store.Location}; it was left untouched (use another Path, Prefix, Bucket or Container for a new one).");
        }
    }

    private async Task<int> RepoPasswdAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var store = invocation.OpenStore();
        var oldPassphrase = PassphraseSource.Read(invocation.Options.Repository);
        var newPassphrase = PassphraseSource.ReadFile(invocation.Parse.GetRequiredValue(_newPassphraseFile), "--new-passphrase-file");
        var document = await BackupRepository.ChangePassphraseAsync(store, oldPassphrase, newPassphrase, invocation.Time, cancellationToken);
        return invocation.Output.Success(
            new JsonObject
            {
                ["repository"] = store.Location,
                ["masterKeyId"] = document.MasterKeyId,
                ["keySlot"] = document.Keys[0].KeyId,
            },
            $"Changed the passphrase of {store.Location}: new key slot {document.Keys[0].KeyId}, same master key {document.MasterKeyId}; "
            + "no backup was rewritten. Put the new passphrase where BackupDr:Repository:PassphraseFile points: the old one no longer opens the repository.");
    }
}
