using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Backups;
using BackupDr.DrillRunner.Restore;
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
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"TARGET",-24} {"BACKUP",-28} {"RECOVERY POINT (UTC)",-20} {"STORED",10}  ODOO");
        foreach (var m in manifests)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{m.Target,-24} {m.BackupId,-28} {m.RecoveryPoint.UtcDateTime,-20:yyyy-MM-dd HH:mm:ss} {CliProgress.Size(m.Objects.Sum(o => o.SizeBytes)),10}  {m.Source.OdooVersion ?? "-"}");
        }

        text.Append(CultureInfo.InvariantCulture, $"{manifests.Count} backup(s) in {store.Location}; drills arrive with issue [4].");
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
                ["drills"] = new JsonArray(),
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

        if (invocation.Parse.GetValue(_restoreNeutralize))
        {
            throw new UsageException("--neutralize arrives with issue [4]; nothing was restored.");
        }

        var jobs = invocation.Parse.GetValue(_restoreJobs);
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var manifest = await BackupCatalog.ResolveAsync(repository.Store, target.Name, invocation.Parse.GetValue(_restoreBackup)!, cancellationToken);
        var restorer = new DatabaseRestorer(invocation.Time, invocation.LoggerFactory.CreateLogger<DatabaseRestorer>());
        var options = new DatabaseRestoreOptions(
            invocation.Parse.GetValue(_restoreForce), jobs > 0 ? jobs : DatabaseRestoreOptions.DefaultJobs, invocation.Options.Sandbox.WorkPath,
            Check: !invocation.Parse.GetValue(_restoreNoCheck));
        Directory.CreateDirectory(options.WorkPath);
        var result = await new CliProgress(_environment).RunAsync($"restore {target.Name}/{manifest.BackupId}", progress =>
            restorer.RestoreAsync(repository, manifest, invocation.Parse.GetRequiredValue(_restoreInto), options,
                new Progress<RestoreProgress>(p => progress.Report((p.Phase.ToString().ToLowerInvariant(), p.Bytes))), cancellationToken));

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
        };
        if (!result.Matches)
        {
            return invocation.Output.Fail(ExitCodes.Failed,
                $"restored {manifest.Target}/{manifest.BackupId} into {result.Database}, but it does not match the backup's evidence: {string.Join("; ", result.Differences)}", json);
        }

        return invocation.Output.Success(json,
            $"restored {manifest.Target}/{manifest.BackupId} (recovery point {manifest.RecoveryPoint:u}) into database {result.Database}: {phases}"
            + (result.Checked ? "; row counts, content fingerprints and ledger totals match the backup" : "; not checked (--no-check)"));
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
