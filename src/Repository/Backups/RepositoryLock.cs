using System.Text.Json;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

internal enum LockKind
{
    /// <summary>Shared: backups of a target may run together; each may reuse packs nobody references yet.</summary>
    Backup,

    /// <summary>Exclusive: deletes manifests or packs; no backup of the target may run meanwhile.</summary>
    Prune,
}

/// <summary>Another holder's live lock prevents this one; nothing was done.</summary>
internal sealed class RepositoryLockedException(string message) : Exception(message);

/// <summary>
/// A lock object in the repository, per target (<c>targets/&lt;t&gt;/locks/&lt;kind&gt;-&lt;id&gt;.json</c>), so that prune
/// never deletes a pack a running backup has written or decided to reuse. Protocol (restic's, on plain objects):
/// write your own lock, then list the others; a conflicting live lock (backup against prune, prune against prune)
/// makes the newcomer delete its own and give way. Two starting at the same instant both see each other and both give
/// way: safe, and retried later. A holder rewrites its lock every <see cref="RefreshInterval"/>; a lock whose object
/// was not rewritten for <see cref="StaleAfter"/> belongs to a dead process and is ignored. A holder whose own refresh
/// has failed for that long must assume it lost the lock (<see cref="EnsureHeld"/>) and not commit.
/// </summary>
internal sealed class RepositoryLock : IAsyncDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(30);

    private readonly IObjectStore _store;
    private readonly TimeProvider _time;
    private readonly byte[] _document;
    private readonly CancellationTokenSource _stopRefresh = new();
    private Task _refreshing = Task.CompletedTask;
    private DateTimeOffset _lastWritten;
    private string? _refreshFailure;

    private RepositoryLock(IObjectStore store, TimeProvider time, ObjectKey key, byte[] document)
    {
        _store = store;
        _time = time;
        Key = key;
        _document = document;
    }

    public ObjectKey Key { get; }

    /// <summary>Takes a lock of <paramref name="kind"/> on <paramref name="target"/>, or throws <see cref="RepositoryLockedException"/>.</summary>
    public static async Task<RepositoryLock> AcquireAsync(
        IObjectStore store, string target, LockKind kind, string holderId, TimeProvider time, CancellationToken cancellationToken)
    {
        var key = ObjectKey.Parse($"{Filestore.FilestoreLayout.LocksPrefix(target)}{kind.ToString().ToLowerInvariant()}-{holderId}.json");
        var document = JsonSerializer.SerializeToUtf8Bytes(new
        {
            kind = kind.ToString(),
            holder = holderId,
            host = Environment.MachineName,
            pid = Environment.ProcessId,
            createdAt = time.GetUtcNow(),
        });
        var held = new RepositoryLock(store, time, key, document);
        await held.WriteAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            await foreach (var other in store.ListAsync(Filestore.FilestoreLayout.LocksPrefix(target), cancellationToken))
            {
                if (other.Key == key || now - other.LastModified > StaleAfter)
                {
                    continue;
                }

                var otherIsPrune = other.Key.Name.StartsWith("prune-", StringComparison.Ordinal);
                if (kind == LockKind.Prune || otherIsPrune)
                {
                    throw new RepositoryLockedException(
                        $"target '{target}' is locked by {other.Key.Name} (written {other.LastModified:u}): "
                        + (kind == LockKind.Prune ? "a backup or prune is running; prune again later" : "a prune is running; back up again when it ends")
                        + $". A lock not refreshed for {StaleAfter.TotalMinutes:F0} minutes is ignored.");
                }
            }
        }
        catch
        {
            await store.DeleteAsync(key, CancellationToken.None);
            throw;
        }

        // Retried at the next interval; EnsureHeld refuses to commit, naming the last error, if they keep failing.
        held._refreshing = PeriodicRewrite.RunAsync(RefreshInterval, time, held.WriteAsync, failure => held._refreshFailure = failure ?? held._refreshFailure, held._stopRefresh.Token);
        return held;
    }

    /// <summary>Throws unless the lock was rewritten recently enough that nobody can have taken it as stale.</summary>
    public void EnsureHeld()
    {
        var age = _time.GetUtcNow() - _lastWritten;
        if (age > StaleAfter - RefreshInterval)
        {
            throw new RepositoryLockedException(
                $"the lock {Key} could not be refreshed for {age.TotalMinutes:F0} minutes; a prune may have treated it as stale, so nothing is committed (last error: {_refreshFailure ?? "none"})");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopRefresh.CancelAsync();
        await _refreshing;
        _stopRefresh.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
        await _store.DeleteAsync(Key, timeout.Token);
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        var written = _time.GetUtcNow();
        using var content = new MemoryStream(_document, writable: false);
        await _store.PutAsync(Key, content, PutOptions.Default, cancellationToken);
        _lastWritten = written;
    }
}
