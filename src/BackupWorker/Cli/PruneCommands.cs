using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Filestore;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    /// <summary>
    /// <c>prune</c>: garbage collection per target (<see cref="PackCollector"/>): packs no committed backup references,
    /// objects of backups that never committed, stale locks. Retention (deleting expired manifests first) is issue [5].
    /// </summary>
    private async Task<int> PruneAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var targets = invocation.Parse.GetValue(_pruneTarget) is null ? invocation.Options.Targets : [invocation.RequireTarget(_pruneTarget)];
        var apply = invocation.Parse.GetValue(_pruneApply);
        var grace = invocation.Options.Filestore.PackGracePeriod;
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var text = new StringBuilder();
        var results = new JsonArray();
        var locked = new List<string>();
        foreach (var target in targets)
        {
            CollectionPlan plan;
            try
            {
                plan = await PackCollector.CollectAsync(repository, target.Name, grace, apply, invocation.Time, cancellationToken);
            }
            catch (RepositoryLockedException e)
            {
                locked.Add(e.Message);
                results.Add(new JsonObject { ["target"] = target.Name, ["applied"] = false, ["error"] = e.Message });
                text.AppendLine(CultureInfo.InvariantCulture, $"{target.Name}: skipped: {e.Message}");
                continue;
            }

            results.Add(new JsonObject
            {
                ["target"] = target.Name,
                ["applied"] = apply,
                ["backups"] = plan.Backups,
                ["referencedPacks"] = plan.ReferencedPacks,
                ["youngPacks"] = plan.YoungPacks,
                ["deletableBytes"] = plan.Bytes,
                ["garbage"] = new JsonArray(plan.Garbage.Select(g => (JsonNode)new JsonObject
                {
                    ["what"] = g.What,
                    ["id"] = g.Id,
                    ["objects"] = g.Keys.Count,
                    ["bytes"] = g.Bytes,
                    ["lastModified"] = g.LastModified,
                }).ToArray()),
                ["staleLocks"] = new JsonArray(plan.StaleLocks.Select(k => (JsonNode)k.Value).ToArray()),
            });
            var verb = apply ? "deleted" : "would delete";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{target.Name}: {plan.Backups} backup(s) need {plan.ReferencedPacks} pack(s); {verb} {plan.Garbage.Count} unit(s) ({CliProgress.Size(plan.Bytes)}) and {plan.StaleLocks.Count} stale lock(s); "
                + $"{plan.YoungPacks} unreferenced pack(s) younger than {grace:c} kept");
            foreach (var item in plan.Garbage)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  {verb} {item.What} {item.Id} ({item.Keys.Count} object(s), {CliProgress.Size(item.Bytes)}, last written {item.LastModified:u})");
            }
        }

        var json = new JsonObject { ["repository"] = repository.Store.Location, ["apply"] = apply, ["targets"] = results };
        if (locked.Count > 0)
        {
            _environment.Error.Write(text.ToString());
            return invocation.Output.Fail(ExitCodes.Failed, $"prune skipped {locked.Count} target(s) that are in use: {string.Join("; ", locked)}", json);
        }

        text.Append(apply ? "prune applied." : "dry run: nothing was deleted; run with --apply to delete.");
        return invocation.Output.Success(json, text.ToString());
    }
}
