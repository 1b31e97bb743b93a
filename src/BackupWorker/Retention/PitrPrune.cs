using System.Globalization;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Retention;
using BackupDr.Repository.Wal;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Retention;

/// <summary>What prune decided for a PITR target's base backups and WAL, and what it deleted when applied.</summary>
internal sealed record PitrPruneReport(PitrRetentionPlan Plan, IReadOnlyList<DeletedBackup> Deleted, int WalDeleted, long WalBytesDeleted);

/// <summary>
/// Retention of a PITR target's base backups and WAL archive (<see cref="PitrRetentionPlanner"/>), part of
/// <see cref="PruneService"/>. When applied: each expired base backup is asked about once more (a drill that opened on
/// it since the plan keeps it), audited (BackupPruned, kind pitr-base), then deleted manifest first, objects after; only
/// then the WAL plan is made again from what is kept, audited as one record, and the WAL objects deleted oldest first
/// (an interruption leaves a shorter but continuous archive).
/// </summary>
internal sealed partial class PitrPrune(TimeProvider time, ILogger logger, IDrillProtectionSource? drills)
{
    public async Task<PitrPruneReport> RunAsync(
        BackupRepository repository, string target, TimeSpan window, IReadOnlySet<string> inOpenDrill, AuditTrail? audit, CancellationToken cancellationToken)
    {
        var store = repository.Store;
        var bases = await BaseBackups.ListAsync(store, target, cancellationToken);
        using var walKey = WalKeys.Derive(repository.MasterKey, target);
        var listing = await new WalArchive(store, target, walKey).ListAsync(cancellationToken);
        var plan = PitrRetentionPlanner.Plan(bases, listing, window, inOpenDrill, time.GetUtcNow());
        if (audit is null)
        {
            return new PitrPruneReport(plan, [], 0, 0);
        }

        var deleted = new List<DeletedBackup>();
        var decisions = plan.BaseBackups.ToList();
        for (var i = 0; i < decisions.Count; i++)
        {
            var decision = decisions[i];
            if (decision.Keep)
            {
                continue;
            }

            if (drills is not null && await drills.InOpenDrillAsync(store, target, decision.BackupId, cancellationToken))
            {
                decisions[i] = decision with { Keep = true, Reasons = ["used by an open drill (opened after the plan was made)"] };
                continue;
            }

            await audit.AppendAsync(
                new AuditEntry(AuditEventKind.BackupPruned, target, decision.BackupId, new Dictionary<string, string>
                {
                    ["kind"] = "pitr-base",
                    ["reason"] = decision.Reasons[0],
                    ["recoveryPoint"] = decision.RecoveryPoint.ToString("O", CultureInfo.InvariantCulture),
                }),
                cancellationToken);
            var gone = await BackupDeletion.DeleteAsync(store, bases.Single(b => b.BackupId == decision.BackupId), cancellationToken);
            LogBaseDeleted(logger, target, gone.BackupId, gone.Objects, gone.Bytes, decision.Reasons[0]);
            deleted.Add(gone);
        }

        // From the decisions as applied: a base backup kept because a drill opened on it keeps its WAL too.
        var wal = PitrRetentionPlanner.PlanWal(bases, decisions, listing);
        plan = new PitrRetentionPlan(decisions, wal);
        if (wal.Objects.Count > 0)
        {
            var ordered = wal.Objects.OrderBy(o => o.Key.Value, StringComparer.Ordinal).ToList();
            await audit.AppendAsync(
                new AuditEntry(AuditEventKind.BackupPruned, target, $"wal-before-{wal.KeepFrom}", new Dictionary<string, string>
                {
                    ["kind"] = "pitr-wal",
                    ["reason"] = wal.Reason,
                    ["objects"] = ordered.Count.ToString(CultureInfo.InvariantCulture),
                    ["bytes"] = wal.Bytes.ToString(CultureInfo.InvariantCulture),
                    ["first"] = ordered[0].FileName,
                    ["last"] = ordered[^1].FileName,
                }),
                cancellationToken);
            foreach (var item in ordered)
            {
                await store.DeleteAsync(item.Key, cancellationToken);
            }

            LogWalDeleted(logger, target, ordered.Count, wal.Bytes, wal.Reason);
        }

        return new PitrPruneReport(plan, deleted, wal.Objects.Count, wal.Bytes);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Prune of {Target}: deleted base backup {BackupId} ({Objects} objects, {Bytes} bytes): {Reason}")]
    private static partial void LogBaseDeleted(ILogger logger, string target, string backupId, int objects, long bytes, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Prune of {Target}: deleted {Objects} WAL object(s) ({Bytes} bytes) {Reason}")]
    private static partial void LogWalDeleted(ILogger logger, string target, int objects, long bytes, string reason);
}
