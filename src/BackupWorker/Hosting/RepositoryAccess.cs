using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Hosting;

/// <summary>
/// The worker's one object store and, opened on first need, its repository. The passphrase key derivation
/// (PBKDF2, 600,000 iterations) runs once per process rather than once per job; the master key stays in memory for
/// the process lifetime, as every backup needs it, and is zeroed on dispose.
/// </summary>
internal sealed class RepositoryAccess : IAsyncDisposable
{
    private readonly RepositoryOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private BackupRepository? _repository;

    public RepositoryAccess(BackupDrOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _options = options.Repository;
        Store = ObjectStoreFactory.Create(options.Repository, ObjectStoreSettings.Default with
        {
            TimeProvider = time,
            Logger = loggerFactory.CreateLogger("BackupDr.Storage"),
        });
    }

    public IObjectStore Store { get; }

    public async Task<BackupRepository> OpenAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _repository) is { } open)
        {
            return open;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _repository ??= await BackupRepository.OpenAsync(Store, PassphraseSource.Read(_options), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The audit trail under the repository's master key; the caller disposes it.</summary>
    public async Task<AuditTrail> OpenAuditTrailAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        var repository = await OpenAsync(cancellationToken);
        return new AuditTrail(repository.Store, repository.MasterKey, time);
    }

    public ValueTask DisposeAsync()
    {
        _repository?.Dispose();
        (Store as IDisposable)?.Dispose();
        _gate.Dispose();
        return ValueTask.CompletedTask;
    }
}
