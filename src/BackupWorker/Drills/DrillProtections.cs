using System.Collections.Concurrent;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Retention;
using BackupDr.Repository.Storage;

namespace BackupDr.BackupWorker.Drills;

/// <summary>
/// What retention must keep because of drills: the backups whose drill passed (from the drill records) and the backups
/// drills of this process are restoring right now (registered by <see cref="ScheduledDrillService"/>).
/// </summary>
/// <remarks>In fleet mode a drill running on another replica is not seen here; its restore then fails loudly if prune
/// removes its backup, and the backup's retention rules (the newest backup is always kept) make that rare.</remarks>
internal sealed class DrillProtections : IDrillProtectionSource
{
    private readonly ConcurrentDictionary<string, string> _open = new(StringComparer.Ordinal);

    public IDisposable Open(string target, string backupId)
    {
        var key = $"{target}/{backupId}";
        _open[key] = backupId;
        return new Release(() => _open.TryRemove(key, out _));
    }

    public async Task<RetentionProtections> ReadAsync(IObjectStore store, string target, CancellationToken cancellationToken)
    {
        var records = await DrillRecords.ListAsync(store, target, masterKey: null, cancellationToken);
        var passed = records.Where(r => r.Record.Outcome == DrillOutcome.Passed).Select(r => r.Record.BackupId).ToHashSet(StringComparer.Ordinal);
        var open = _open.Where(o => o.Key.StartsWith(target + "/", StringComparison.Ordinal)).Select(o => o.Value).ToHashSet(StringComparer.Ordinal);
        return new RetentionProtections(passed, open);
    }

    private sealed class Release(Action release) : IDisposable
    {
        public void Dispose() => release();
    }
}
