using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Backups;
using BackupDr.DrillRunner.Drills;
using BackupDr.DrillRunner.Probes;
using BackupDr.DrillRunner.Restore;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Backups;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    private async Task<int> BackupAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = invocation.RequireTarget(_backupTarget);
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var service = new DatabaseBackupService(invocation.Time, invocation.LoggerFactory.CreateLogger<DatabaseBackupService>());
        var manifest = await new CliProgress(_environment).RunAsync($"backup {target.Name}", progress =>
            service.BackupAsync(repository, target, new Progress<BackupProgress>(p => progress.Report(("dumped", p.DumpedBytes))), cancellationToken));

        var database = manifest.Object(RepositoryLayout.DatabaseObjectName);
        var seconds = (manifest.CompletedAt - manifest.StartedAt).TotalSeconds;
        return invocation.Output.Success(
            new JsonObject
            {
                ["backupId"] = manifest.BackupId,
                ["target"] = manifest.Target,
                ["recoveryPoint"] = manifest.RecoveryPoint,
                ["startedAt"] = manifest.StartedAt,
                ["completedAt"] = manifest.CompletedAt,
                ["durationSeconds"] = Math.Round(seconds, 3),
                ["dumpBytes"] = database.PlainSizeBytes,
                ["storedBytes"] = manifest.Objects.Sum(o => o.SizeBytes),
                ["serverVersion"] = manifest.Source.ServerVersion,
                ["odooVersion"] = manifest.Source.OdooVersion,
                ["objects"] = ObjectsJson(manifest),
            },
            string.Create(CultureInfo.InvariantCulture,
                $"{manifest.BackupId}{Environment.NewLine}backup of {manifest.Target} committed: recovery point {manifest.RecoveryPoint:u}, "
                + $"dump {CliProgress.Size(database.PlainSizeBytes)} stored as {CliProgress.Size(database.SizeBytes)} in {seconds:F1} s"));
    }

    private async Task<int> ListAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        string? only = null;
        if (invocation.Parse.GetValue(_listTarget) is not null)
        {
            only = invocation.RequireTarget(_listTarget).Name;
        }

        var store = invocation.OpenStore();
        var manifests = await BackupCatalog.ListAsync(store, only, cancellationToken);

        // Drill records are sealed with a key derived from the master key: with the passphrase at hand every seal is
        // checked (a damaged or forged record fails the listing); without it they are listed as unchecked.
        var repositoryOptions = invocation.Options.Repository;
        using var repository = repositoryOptions.PassphraseFile.Length > 0 || repositoryOptions.Passphrase.Length > 0
            ? await invocation.OpenRepositoryAsync(cancellationToken)
            : null;
        var drills = await DrillRecords.ListAsync(store, only, repository?.MasterKey, cancellationToken);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"TARGET",-24} {"BACKUP",-28} {"RECOVERY POINT (UTC)",-20} {"STORED",10}  ODOO");
        foreach (var m in manifests)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{m.Target,-24} {m.BackupId,-28} {m.RecoveryPoint.UtcDateTime,-20:yyyy-MM-dd HH:mm:ss} {CliProgress.Size(m.Objects.Sum(o => o.SizeBytes)),10}  {m.Source.OdooVersion ?? "-"}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"{manifests.Count} backup(s) in {store.Location}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"TARGET",-24} {"DRILL",-28} {"BACKUP",-28} {"OUTCOME",-15} {"RTO",9} {"RPO",12}");
        foreach (var d in drills.Select(d => d.Record))
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{d.Target,-24} {d.DrillId,-28} {d.BackupId,-28} {d.Outcome,-15} {(d.Rto.AchievedSeconds is { } rto ? DrillVerdict.Format(rto) : "-"),9} {(d.Rpo.AchievedSeconds is { } rpo ? DrillVerdict.Format(rpo) : "-"),12}");
        }

        text.Append(CultureInfo.InvariantCulture,
            $"{drills.Count} drill(s){(repository is null && drills.Count > 0 ? "; seals not checked (no passphrase configured)" : "")}");
        return invocation.Output.Success(
            new JsonObject
            {
                ["repository"] = store.Location,
                ["backups"] = new JsonArray(manifests.Select(m => (JsonNode)new JsonObject
                {
                    ["target"] = m.Target,
                    ["backupId"] = m.BackupId,
                    ["recoveryPoint"] = m.RecoveryPoint,
                    ["completedAt"] = m.CompletedAt,
                    ["storedBytes"] = m.Objects.Sum(o => o.SizeBytes),
                    ["serverVersion"] = m.Source.ServerVersion,
                    ["odooVersion"] = m.Source.OdooVersion,
                }).ToArray()),
                ["drills"] = new JsonArray(drills.Select(d => (JsonNode)new JsonObject
                {
                    ["target"] = d.Record.Target,
                    ["drillId"] = d.Record.DrillId,
                    ["backupId"] = d.Record.BackupId,
                    ["startedAt"] = d.Record.StartedAt,
                    ["outcome"] = d.Record.Outcome.ToString(),
                    ["rtoSeconds"] = d.Record.Rto.AchievedSeconds,
                    ["rpoSeconds"] = d.Record.Rpo.AchievedSeconds,
                    ["sealChecked"] = d.SealChecked,
                }).ToArray()),
            },
            text.ToString());
    }

    private async Task<int> VerifyAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = invocation.RequireTarget(_verifyTarget);
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var manifest = await BackupCatalog.ResolveAsync(repository.Store, target.Name, invocation.Parse.GetValue(_verifyBackup)!, cancellationToken);
        var report = await new CliProgress(_environment).RunAsync($"verify {target.Name}/{manifest.BackupId}", progress =>
            BackupVerifier.VerifyAsync(repository, manifest, new Progress<long>(b => progress.Report(("read", b))), cancellationToken));

        var json = new JsonObject
        {
            ["backupId"] = manifest.BackupId,
            ["target"] = manifest.Target,
            ["damaged"] = report.Damaged.Count,
            ["objects"] = new JsonArray(report.Objects.Select(o => (JsonNode)new JsonObject
            {
                ["name"] = o.Name,
                ["key"] = o.Key,
                ["ok"] = o.Problem is null,
                ["problem"] = o.Problem,
            }).ToArray()),
        };
        var lines = string.Join(Environment.NewLine, report.Objects.Select(o => $"  {(o.Problem is null ? "ok     " : "DAMAGED")} {o.Key}{(o.Problem is null ? "" : ": " + o.Problem)}"));
        if (report.Damaged.Count == 0)
        {
            return invocation.Output.Success(json,
                $"backup {manifest.Target}/{manifest.BackupId} is intact: every object read in full, checksums and authentication verified{Environment.NewLine}{lines}");
        }

        _environment.Error.WriteLine(lines);
        return invocation.Output.Fail(ExitCodes.Failed,
            $"backup {manifest.Target}/{manifest.BackupId} is damaged ({report.Damaged.Count} object(s)); do not restore it: {string.Join("; ", report.Damaged.Select(d => d.Key))}", json);
    }

    private async Task<int> RestoreAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = invocation.RequireTarget(_restoreTarget);
        if (invocation.Parse.GetValue(_restoreFilestore) is not null)
        {
            throw new UsageException("--filestore-into: restoring the filestore arrives with issue [3]; nothing was restored (run without it to restore the database).");
        }

        var jobs = invocation.Parse.GetValue(_restoreJobs);
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var manifest = await BackupCatalog.ResolveAsync(repository.Store, target.Name, invocation.Parse.GetValue(_restoreBackup)!, cancellationToken);
        var pipeline = new RestorePipeline(new DatabaseRestorer(invocation.Time, invocation.LoggerFactory.CreateLogger<DatabaseRestorer>()), filestore: null, invocation.Time);
        var neutralize = invocation.Parse.GetValue(_restoreNeutralize);
        var options = new DatabaseRestoreOptions(
            invocation.Parse.GetValue(_restoreForce), jobs > 0 ? jobs : DatabaseRestoreOptions.DefaultJobs, invocation.Options.Sandbox.WorkPath,
            Check: !invocation.Parse.GetValue(_restoreNoCheck));
        Directory.CreateDirectory(options.WorkPath);
        var restored = await new CliProgress(_environment).RunAsync($"restore {target.Name}/{manifest.BackupId}", progress =>
            pipeline.RunAsync(repository, new RestoreRequest(manifest, invocation.Parse.GetRequiredValue(_restoreInto), options, FilestoreInto: null, neutralize),
                new Progress<RestoreProgress>(p => progress.Report((p.Phase.ToString().ToLowerInvariant(), p.Bytes))), cancellationToken));
        var result = restored.Database;

        var phases = string.Join(", ", result.Phases.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Phase.ToString().ToLowerInvariant()} {p.Elapsed.TotalSeconds:F1} s")));
        var json = new JsonObject
        {
            ["backupId"] = manifest.BackupId,
            ["target"] = manifest.Target,
            ["recoveryPoint"] = manifest.RecoveryPoint,
            ["database"] = result.Database,
            ["created"] = result.Created,
            ["replaced"] = result.Replaced,
            ["dumpBytes"] = result.DumpBytes,
            ["phases"] = new JsonObject(result.Phases.Select(p => KeyValuePair.Create(p.Phase.ToString().ToLowerInvariant(), (JsonNode?)Math.Round(p.Elapsed.TotalSeconds, 3)))),
            ["checked"] = result.Checked,
            ["differences"] = new JsonArray(result.Differences.Select(d => (JsonNode)d).ToArray()),
            ["neutralized"] = restored.Neutralization is not null,
            ["neutralization"] = restored.Neutralization is null ? null : new JsonArray(restored.Neutralization.Steps.Select(step => (JsonNode)new JsonObject
            {
                ["step"] = step.Name,
                ["rows"] = step.Rows,
                ["notApplicable"] = step.NotApplicable,
            }).ToArray()),
        };
        if (restored.Neutralization is not null
            && await NeutralizationProbe.CheckAsync(result.ConnectionString, cancellationToken) is { Status: not ProbeStatus.Passed } proof)
        {
            return invocation.Output.Fail(ExitCodes.Failed,
                $"restored {manifest.Target}/{manifest.BackupId} into {result.Database}, but the copy is not neutralized: {proof.Details}; do not start Odoo on it", json);
        }

        if (!result.Matches)
        {
            return invocation.Output.Fail(ExitCodes.Failed,
                $"restored {manifest.Target}/{manifest.BackupId} into {result.Database}, but it does not match the backup's evidence: {string.Join("; ", result.Differences)}", json);
        }

        return invocation.Output.Success(json,
            $"restored {manifest.Target}/{manifest.BackupId} (recovery point {manifest.RecoveryPoint:u}) into database {result.Database}: {phases}"
            + (result.Checked ? "; row counts, content fingerprints and ledger totals match the backup" : "; not checked (--no-check)")
            + (restored.Neutralization is { } n
                ? string.Create(CultureInfo.InvariantCulture, $"; neutralized ({n.RowsChanged} rows changed: no mail, no cron but autovacuum, no live payment provider)")
                : target.IsProduction ? "; NOT neutralized: this is a production copy that can send mail and run crons (use --neutralize for staging copies)" : ""));
    }

    private static JsonArray ObjectsJson(BackupManifest manifest) =>
        new(manifest.Objects.Select(o => (JsonNode)new JsonObject
        {
            ["name"] = o.Name,
            ["key"] = o.Key,
            ["codec"] = o.Codec,
            ["sizeBytes"] = o.SizeBytes,
            ["plainSizeBytes"] = o.PlainSizeBytes,
            ["sha256"] = o.Sha256,
        }).ToArray());
}
