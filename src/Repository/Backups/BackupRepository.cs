using BackupDr.Repository.Crypto;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <summary>There is no repository.json at the configured location.</summary>
internal sealed class RepositoryNotFoundException(string location)
    : Exception($"no repository at {location}: create one with 'backupdr repo init' (or check BackupDr:Repository)")
{
    public string Location { get; } = location;
}

/// <summary>An opened repository: its store, its document and the unlocked master key (disposed with this object).</summary>
internal sealed class BackupRepository : IDisposable
{
    private BackupRepository(IObjectStore store, RepositoryDocument document, MasterKey masterKey)
    {
        Store = store;
        Document = document;
        MasterKey = masterKey;
    }

    public IObjectStore Store { get; }

    public RepositoryDocument Document { get; }

    public MasterKey MasterKey { get; }

    /// <summary>
    /// Creates repository.json. Refuses a location that already holds one (create-only write, plus a check first so
    /// that stores without atomic create-only still refuse the common case).
    /// </summary>
    public static async Task<RepositoryDocument> InitializeAsync(
        IObjectStore store, string passphrase, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await store.StatAsync(RepositoryLayout.RepositoryDocument, cancellationToken) is not null)
        {
            throw new ObjectAlreadyExistsException(store.Location, RepositoryLayout.RepositoryDocument);
        }

        var (document, masterKey) = RepositoryKeys.Create(passphrase, time);
        using (masterKey)
        {
            await WriteDocumentAsync(store, document, PutOptions.CreateOnly, cancellationToken);
            return document;
        }
    }

    /// <exception cref="RepositoryNotFoundException">No repository.json.</exception>
    /// <exception cref="WrongPassphraseException">The passphrase opens no key slot.</exception>
    public static async Task<BackupRepository> OpenAsync(IObjectStore store, string passphrase, CancellationToken cancellationToken)
    {
        var document = await ReadDocumentAsync(store, cancellationToken);
        return new BackupRepository(store, document, RepositoryKeys.Unlock(document, passphrase));
    }

    /// <summary>
    /// Replaces the key slot: the same master key, wrapped under the new passphrase. Backups are not rewritten. The
    /// document is replaced in one atomic write; the old passphrase stops working.
    /// </summary>
    public static async Task<RepositoryDocument> ChangePassphraseAsync(
        IObjectStore store, string oldPassphrase, string newPassphrase, TimeProvider time, CancellationToken cancellationToken)
    {
        var document = await ReadDocumentAsync(store, cancellationToken);
        var changed = RepositoryKeys.ChangePassphrase(document, oldPassphrase, newPassphrase, time);
        await WriteDocumentAsync(store, changed, PutOptions.Default, cancellationToken);
        return changed;
    }

    public static async Task<RepositoryDocument> ReadDocumentAsync(IObjectStore store, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await store.OpenReadAsync(RepositoryLayout.RepositoryDocument, cancellationToken);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken);
            return RepositoryDocumentSerializer.Parse(buffer.ToArray());
        }
        catch (ObjectNotFoundException)
        {
            throw new RepositoryNotFoundException(store.Location);
        }
    }

    private static async Task WriteDocumentAsync(IObjectStore store, RepositoryDocument document, PutOptions options, CancellationToken cancellationToken)
    {
        using var content = new MemoryStream(RepositoryDocumentSerializer.SerializeToUtf8Bytes(document), writable: false);
        await store.PutAsync(RepositoryLayout.RepositoryDocument, content, options, cancellationToken);
    }

    public void Dispose() => MasterKey.Dispose();
}
