using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BackupDr.Repository.Audit;
using BackupDr.Repository.Backups;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    private static async Task<int> AuditVerifyAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        using var trail = new AuditTrail(repository.Store, repository.MasterKey, invocation.Time);
        var verification = await trail.VerifyAsync(cancellationToken);
        var backups = new List<(string, string)>();
        await foreach (var info in repository.Store.ListAsync(RepositoryLayout.TargetsPrefix, cancellationToken))
        {
            if (RepositoryLayout.IsManifest(info.Key))
            {
                var segments = info.Key.Value.Split('/');
                backups.Add((segments[1], segments[3]));
            }
        }

        var problems = verification.Problems.Concat(AuditCrossCheck.Compare(verification.Records, backups)).ToList();
        var last = verification.Last;
        var document = new JsonObject
        {
            ["repository"] = repository.Store.Location,
            ["records"] = verification.Count,
            ["backupsChecked"] = backups.Count,
            ["last"] = last is null ? null : new JsonObject
            {
                ["sequence"] = last.Sequence,
                ["at"] = last.At,
                ["kind"] = last.Kind.ToString(),
                ["target"] = last.Target,
                ["subject"] = last.Subject,
            },
            ["problems"] = new JsonArray(problems.Select(p => (JsonNode)new JsonObject { ["key"] = p.Key, ["problem"] = p.Message }).ToArray()),
        };
        if (problems.Count == 0)
        {
            document["intact"] = true;
            var newest = last is null ? "." : string.Create(CultureInfo.InvariantCulture, $"; newest #{last.Sequence} {last.Kind} {last.Target} {last.Subject} at {last.At:u}.");
            return invocation.Output.Success(document,
                $"audit trail intact: {verification.Count} record(s), every link and MAC checked, {backups.Count} backup(s) accounted for{newest}");
        }

        document["intact"] = false;
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"the audit trail of {repository.Store.Location} is broken ({problems.Count} problem(s)):");
        foreach (var problem in problems)
        {
            text.Append(CultureInfo.InvariantCulture, $"{Environment.NewLine}  {problem.Key}: {problem.Message}");
        }

        text.Append(CultureInfo.InvariantCulture,
            $"{Environment.NewLine}Nothing was changed. Keep the repository as it is and compare it with your object-store access logs and versioning.");
        return invocation.Output.Fail(ExitCodes.Failed, text.ToString(), document);
    }
}
