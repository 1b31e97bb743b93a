using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Retention;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Filestore;
using BackupDr.Repository.Retention;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    private readonly Option<string> _pruneTarget = TargetOption(required: false);

    private readonly Option<bool> _pruneApply = new("--apply")
    {
        Description = "Delete what retention allows; without it, only print what would go and why",
    };

    /// <summary>
    /// <c>backupdr prune [--target NAME] [--apply]</c>: the retention plan of each target (every backup with the rules
    /// that keep it, or why it may go), the orphan folders of interrupted backups, then the filestore garbage
    /// collection (<see cref="PackCollector"/>); deletes only with --apply, each expired backup audited first. The
    /// filestore indexes are encrypted, so even the dry run opens the repository.
    /// </summary>
    private async Task<int> PruneAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        IReadOnlyList<TargetOptions> targets = invocation.Parse.GetValue(_pruneTarget) is not null
            ? [invocation.RequireTarget(_pruneTarget)]
            : invocation.Options.Targets;
        var apply = invocation.Parse.GetValue(_pruneApply);
        var service = new PruneService(invocation.Options, invocation.Time, invocation.LoggerFactory.CreateLogger<PruneService>(), new DrillProtections(invocation.Time));
        var reports = new List<PruneReport>();
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        using var audit = new AuditTrail(repository.Store, repository.MasterKey, invocation.Time);
        var store = repository.Store;
        foreach (var target in targets)
        {
            reports.Add(apply
                ? await service.ApplyAsync(repository, target, audit, cancellationToken)
                : await service.PlanAsync(repository, target, cancellationToken));
        }

        var text = new StringBuilder();
        foreach (var report in reports)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{report.Plan.Target}:");
            foreach (var decision in report.Plan.Decisions)
            {
                var verb = decision.Keep ? "keep  " : apply ? "DELETED" : "delete";
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"  {verb} {decision.BackupId}  {decision.RecoveryPoint.UtcDateTime:yyyy-MM-dd HH:mm}  {string.Join("; ", decision.Reasons)}");
            }

            foreach (var orphan in report.Orphans)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"  {(apply ? "DELETED" : "delete")} {orphan.BackupId}  orphan folder: no manifest, {orphan.Objects} object(s), {CliProgress.Size(orphan.Bytes)}");
            }

            if (report.Pitr is { } pitr)
            {
                foreach (var decision in pitr.Plan.BaseBackups)
                {
                    var verb = decision.Keep ? "keep  " : apply ? "DELETED" : "delete";
                    text.AppendLine(CultureInfo.InvariantCulture,
                        $"  {verb} base backup {decision.BackupId}  {decision.RecoveryPoint.UtcDateTime:yyyy-MM-dd HH:mm}  {string.Join("; ", decision.Reasons)}");
                }

                var wal = pitr.Plan.Wal;
                text.AppendLine(wal.Objects.Count == 0
                    ? $"  WAL: nothing to delete ({wal.Reason})"
                    : string.Create(CultureInfo.InvariantCulture, $"  {(apply ? "DELETED" : "delete")} {wal.Objects.Count} WAL object(s), {CliProgress.Size(wal.Bytes)}: {wal.Reason}"));
            }

            if (report.Garbage is { } plan)
            {
                var verb = apply ? "DELETED" : "delete";
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"  filestore: {plan.Backups} backup(s) need {plan.ReferencedPacks} pack(s); {plan.Garbage.Count} unit(s) of garbage ({CliProgress.Size(plan.Bytes)}), "
                    + $"{plan.StaleLocks.Count} stale lock(s); {plan.YoungPacks} unreferenced pack(s) younger than {invocation.Options.Filestore.PackGracePeriod:c} kept");
                foreach (var item in plan.Garbage)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"  {verb} {item.What} {item.Id} ({item.Keys.Count} object(s), {CliProgress.Size(item.Bytes)}, last written {item.LastModified:u})");
                }
            }
            else
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  filestore garbage collection skipped: {report.GarbageSkipped}");
            }
        }

        var expired = reports.Sum(r => r.Plan.Deleted.Count());
        var orphans = reports.Sum(r => r.Orphans.Count);
        var bases = reports.Sum(r => r.Pitr?.Plan.BaseBackups.Count(d => !d.Keep) ?? 0);
        var walObjects = reports.Sum(r => r.Pitr?.Plan.Wal.Objects.Count ?? 0);
        var bytes = reports.Sum(r => r.Deleted.Sum(d => d.Bytes) + (r.Pitr is { } p ? p.Deleted.Sum(d => d.Bytes) + p.WalBytesDeleted : 0));
        var what = reports.Any(r => r.Pitr is not null)
            ? string.Create(CultureInfo.InvariantCulture, $"{expired} backup(s), {orphans} orphan folder(s), {bases} base backup(s) and {walObjects} WAL object(s)")
            : string.Create(CultureInfo.InvariantCulture, $"{expired} backup(s) and {orphans} orphan folder(s)");
        text.Append(apply
            ? $"deleted {what}, {CliProgress.Size(bytes)}"
            : $"dry run: {what} would be deleted; run again with --apply to delete them");

        return invocation.Output.Success(
            new JsonObject
            {
                ["applied"] = apply,
                ["repository"] = store.Location,
                ["targets"] = new JsonArray(reports.Select(r => (JsonNode)new JsonObject
                {
                    ["target"] = r.Plan.Target,
                    ["backups"] = Decisions(r.Plan.Decisions),
                    ["orphans"] = new JsonArray(r.Orphans.Select(o => (JsonNode)new JsonObject
                    {
                        ["backupId"] = o.BackupId,
                        ["objects"] = o.Objects,
                        ["bytes"] = o.Bytes,
                    }).ToArray()),
                    ["deletedBytes"] = r.Deleted.Sum(d => d.Bytes) + (r.Pitr is { } p ? p.Deleted.Sum(d => d.Bytes) + p.WalBytesDeleted : 0),
                    ["pitr"] = r.Pitr is not { } pitr ? null : new JsonObject
                    {
                        ["baseBackups"] = Decisions(pitr.Plan.BaseBackups),
                        ["wal"] = new JsonObject
                        {
                            ["keepFrom"] = pitr.Plan.Wal.KeepFrom,
                            ["oldestRetainedBaseBackup"] = pitr.Plan.Wal.OldestRetainedBaseBackup,
                            ["reason"] = pitr.Plan.Wal.Reason,
                            ["objects"] = pitr.Plan.Wal.Objects.Count,
                            ["bytes"] = pitr.Plan.Wal.Bytes,
                            ["first"] = pitr.Plan.Wal.Objects.Select(o => o.FileName).Min(StringComparer.Ordinal),
                            ["last"] = pitr.Plan.Wal.Objects.Select(o => o.FileName).Max(StringComparer.Ordinal),
                        },
                    },
                    ["garbageSkipped"] = r.GarbageSkipped,
                    ["garbage"] = r.Garbage is not { } g ? null : new JsonObject
                    {
                        ["backups"] = g.Backups,
                        ["referencedPacks"] = g.ReferencedPacks,
                        ["youngPacks"] = g.YoungPacks,
                        ["bytes"] = g.Bytes,
                        ["units"] = new JsonArray(g.Garbage.Select(u => (JsonNode)new JsonObject
                        {
                            ["what"] = u.What,
                            ["id"] = u.Id,
                            ["objects"] = u.Keys.Count,
                            ["bytes"] = u.Bytes,
                            ["lastModified"] = u.LastModified,
                        }).ToArray()),
                        ["staleLocks"] = new JsonArray(g.StaleLocks.Select(k => (JsonNode)k.Value).ToArray()),
                    },
                }).ToArray()),
            },
            text.ToString());
    }

    private static JsonArray Decisions(IEnumerable<RetentionDecision> decisions) =>
        new(decisions.Select(d => (JsonNode)new JsonObject
        {
            ["backupId"] = d.BackupId,
            ["recoveryPoint"] = d.RecoveryPoint,
            ["keep"] = d.Keep,
            ["reasons"] = new JsonArray(d.Reasons.Select(x => (JsonNode)x).ToArray()),
        }).ToArray());
}
