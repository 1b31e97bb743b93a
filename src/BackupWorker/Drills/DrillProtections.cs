using BackupDr.Repository.Drills;
using BackupDr.Repository.Retention;
using BackupDr.Repository.Storage;

namespace BackupDr.BackupWorker.Drills;

/// <summary>
/// What retention must keep because of drills, from the repository alone: the backups whose drill passed (the drill
/// records) and the backups open drills are restoring (their unexpired <see cref="DrillLease"/>s), whichever replica or
/// host runs them.
/// </summary>
internal sealed class DrillProtections(TimeProvider time) : IDrillProtectionSource
{
    public async Task<RetentionProtections> ReadAsync(IObjectStore store, string target, CancellationToken cancellationToken)
    {
        var records = await DrillRecords.ListAsync(store, target, masterKey: null, cancellationToken);
        var passed = records.Where(r => r.Record.Outcome == DrillOutcome.Passed).Select(r => r.Record.BackupId).ToHashSet(StringComparer.Ordinal);
        return new RetentionProtections(passed, await OpenAsync(store, target, cancellationToken));
    }

    public async Task<bool> InOpenDrillAsync(IObjectStore store, string target, string backupId, CancellationToken cancellationToken) =>
        (await OpenAsync(store, target, cancellationToken)).Contains(backupId);

    private async Task<HashSet<string>> OpenAsync(IObjectStore store, string target, CancellationToken cancellationToken) =>
        (await DrillLease.ReadLiveAsync(store, target, time, cancellationToken)).Select(l => l.BackupId).ToHashSet(StringComparer.Ordinal);
}
