using BackupDr.BackupWorker.Scheduling;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Filestore;
using BackupDr.Repository.Retention;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Retention;

/// <summary>What prune decided for one target, and what it deleted when applied.</summary>
/// <param name="Garbage">The filestore garbage collection that followed (packs no retained backup references, objects
/// of backups that never committed, stale locks), or null when <see cref="GarbageSkipped"/> says why it did not run.</param>
/// <param name="Pitr">Base backups and WAL of a PITR target (null for targets without point-in-time recovery).</param>
internal sealed record PruneReport(
    RetentionPlan Plan, IReadOnlyList<OrphanBackup> Orphans, IReadOnlyList<DeletedBackup> Deleted, bool Applied,
    CollectionPlan? Garbage, string? GarbageSkipped, PitrPruneReport? Pitr = null);

/// <summary>
/// Retention for one target, shared by <c>backupdr prune</c> and the scheduled prune job: plan from the committed
/// manifests, the tier's counts and the drill records; when applied, each expired backup is first recorded in the
/// audit trail (BackupPruned: a deletion the trail does not know of is reported by <c>audit verify</c> as done
/// outside BackupDr), then its manifest, then its objects are deleted; last the orphan folders of interrupted
/// backups are swept. PITR targets then prune their base backups and WAL (<see cref="PitrPrune"/>).
/// </summary>
internal sealed partial class PruneService(BackupDrOptions options, TimeProvider time, ILogger<PruneService> logger, IDrillProtectionSource? drills = null)
{
    /// <summary>A local Put's temporary file not written for this long belongs to a process that was killed.</summary>
    private static readonly TimeSpan AbandonedUploadAge = TimeSpan.FromHours(24);

    /// <summary>The dry run: what would go and why (the filestore indexes are encrypted, so it needs the repository open).</summary>
    public Task<PruneReport> PlanAsync(BackupRepository repository, TargetOptions target, CancellationToken cancellationToken) =>
        PruneAsync(repository, target, audit: null, cancellationToken);

    public Task<PruneReport> ApplyAsync(BackupRepository repository, TargetOptions target, AuditTrail audit, CancellationToken cancellationToken) =>
        PruneAsync(repository, target, audit, cancellationToken);

    private async Task<PruneReport> PruneAsync(BackupRepository repository, TargetOptions target, AuditTrail? audit, CancellationToken cancellationToken)
    {
        var apply = audit is not null;
        var store = repository.Store;
        var manifests = (await BackupCatalog.ListAsync(store, target.Name, cancellationToken)).ToDictionary(m => m.BackupId, StringComparer.Ordinal);
        RetentionProtections protections;
        if (drills is null)
        {
            // A host without drills (tests of the scheduler alone): no backup is held by a drill.
            LogNoDrillRecords(logger, target.Name);
            protections = RetentionProtections.None;
        }
        else
        {
            protections = await drills.ReadAsync(store, target.Name, cancellationToken);
        }

        var plan = RetentionPlanner.Plan(
            target.Name,
            manifests.Values.Select(m => new RetentionCandidate(m.BackupId, m.RecoveryPoint)),
            options.Tiers[target.Tier].Retention,
            protections,
            time,
            WorkerSchedule.Zone(options.Scheduler));
        var orphans = await BackupDeletion.FindOrphansAsync(store, target.Name, time, cancellationToken);
        var deleted = new List<DeletedBackup>();
        var heldMeanwhile = new HashSet<string>(StringComparer.Ordinal);
        if (apply)
        {
            foreach (var decision in plan.Deleted)
            {
                // A drill that opened since the plan was read holds its backup: asked again right before each deletion.
                if (drills is not null && await drills.InOpenDrillAsync(store, target.Name, decision.BackupId, cancellationToken))
                {
                    LogHeldByNewDrill(logger, target.Name, decision.BackupId);
                    heldMeanwhile.Add(decision.BackupId);
                    continue;
                }

                await audit!.AppendAsync(
                    new AuditEntry(AuditEventKind.BackupPruned, target.Name, decision.BackupId, new Dictionary<string, string>
                    {
                        ["reason"] = decision.Reasons[0],
                        ["recoveryPoint"] = decision.RecoveryPoint.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                    }),
                    cancellationToken);
                var gone = await BackupDeletion.DeleteAsync(store, manifests[decision.BackupId], cancellationToken);
                LogDeleted(logger, target.Name, gone.BackupId, gone.Objects, gone.Bytes, decision.Reasons[0]);
                deleted.Add(gone);
            }

            foreach (var orphan in orphans)
            {
                var gone = await BackupDeletion.DeleteOrphanAsync(store, orphan, cancellationToken);
                LogOrphanDeleted(logger, target.Name, gone.BackupId, gone.Objects, gone.Bytes);
                deleted.Add(gone);
            }

            foreach (var swept in await DrillLease.SweepExpiredAsync(store, target.Name, time, cancellationToken))
            {
                LogLeaseSwept(logger, target.Name, swept.Value);
            }

            if (store is LocalObjectStore local)
            {
                var (files, bytes) = local.DeleteAbandonedTemporaryFiles(RepositoryLayout.TargetPrefix(target.Name), time.GetUtcNow() - AbandonedUploadAge);
                if (files > 0)
                {
                    LogTemporaryFilesSwept(logger, target.Name, files, bytes);
                }
            }

            plan = plan with
            {
                Decisions = plan.Decisions
                    .Select(d => heldMeanwhile.Contains(d.BackupId) ? d with { Keep = true, Reasons = ["used by an open drill (opened after the plan was made)"] } : d)
                    .ToList(),
            };
        }

        PitrPruneReport? pitr = null;
        if (target.Pitr.Enabled)
        {
            pitr = await new PitrPrune(time, logger, drills).RunAsync(
                repository, target.Name, options.Tiers[target.Tier].Retention.PitrWindow, protections.InOpenDrill, audit, cancellationToken);
        }

        // The filestore garbage collection runs after the expired manifests are gone, so that packs only they referenced
        // become garbage; it takes the target's exclusive prune lock, and a running backup makes it wait for next time.
        CollectionPlan? garbage = null;
        string? skipped = null;
        try
        {
            garbage = await PackCollector.CollectAsync(repository, target.Name, options.Filestore.PackGracePeriod, apply, time, cancellationToken);
        }
        catch (RepositoryLockedException e)
        {
            skipped = e.Message;
            LogGarbageSkipped(logger, target.Name, e.Message);
        }

        var kept = plan.Kept.Count();
        var expired = plan.Decisions.Count - kept;
        LogPlanned(logger, target.Name, kept, expired, orphans.Count, apply);
        return new PruneReport(plan, orphans, deleted, apply, garbage, skipped, pitr);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Prune of {Target}: backup {BackupId} kept: a drill opened on it after the plan was made")]
    private static partial void LogHeldByNewDrill(ILogger logger, string target, string backupId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Prune of {Target}: deleted {Files} temporary file(s) ({Bytes} bytes) of uploads a killed process left")]
    private static partial void LogTemporaryFilesSwept(ILogger logger, string target, int files, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Prune of {Target}: deleted the expired lease {Key} of a drill that died")]
    private static partial void LogLeaseSwept(ILogger logger, string target, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Prune of {Target}: garbage collection skipped this time: {Reason}")]
    private static partial void LogGarbageSkipped(ILogger logger, string target, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Prune of {Target}: no drill protection is bound in this host; no backup is held by a drill")]
    private static partial void LogNoDrillRecords(ILogger logger, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Prune of {Target}: deleted backup {BackupId} ({Objects} objects, {Bytes} bytes): {Reason}")]
    private static partial void LogDeleted(ILogger logger, string target, string backupId, int objects, long bytes, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Prune of {Target}: deleted orphan folder of {BackupId} ({Objects} objects, {Bytes} bytes): no manifest, older than the grace period")]
    private static partial void LogOrphanDeleted(ILogger logger, string target, string backupId, int objects, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Prune of {Target}: {Kept} kept, {Expired} expired, {Orphans} orphan folder(s); applied {Applied}")]
    private static partial void LogPlanned(ILogger logger, string target, int kept, int expired, int orphans, bool applied);
}
