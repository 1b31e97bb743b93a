using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Backups;
using BackupDr.DrillRunner.Drills;
using BackupDr.DrillRunner.Probes;
using BackupDr.DrillRunner.Restore;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Filestore;
using BackupDr.Repository.Progress;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    private async Task<int> BackupAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = invocation.RequireTarget(_backupTarget);
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var service = new DatabaseBackupService(invocation.Time, invocation.Options.Filestore, invocation.LoggerFactory);
        var outcome = await new CliProgress(_environment).RunAsync($"backup {target.Name}", progress =>
            service.BackupAsync(repository, target,
                new SynchronousProgress<BackupProgress>(p => progress.Report((p.Stage == BackupStage.Database ? "dumped" : "filestore read", p.Bytes))),
                cancellationToken));

        var manifest = outcome.Manifest;
        await BackupAudit.RecordAsync(repository, manifest, invocation.Time, cancellationToken);
        var database = manifest.Object(RepositoryLayout.DatabaseObjectName);
        var filestore = manifest.Filestore!;
        var seconds = (manifest.CompletedAt - manifest.StartedAt).TotalSeconds;
        var problems = outcome.Filestore.Index.Problems;
        var text = new StringBuilder();
        text.AppendLine(manifest.BackupId);
        text.Append(CultureInfo.InvariantCulture,
            $"backup of {manifest.Target} committed: recovery point {manifest.RecoveryPoint:u}, dump {CliProgress.Size(database.PlainSizeBytes)} stored as {CliProgress.Size(database.SizeBytes)}; ");
        text.Append(CultureInfo.InvariantCulture,
            $"filestore {filestore.Files} files ({CliProgress.Size(filestore.SizeBytes)}), {filestore.FilesRead} new ({CliProgress.Size(filestore.BytesRead)}) in {filestore.PacksWritten} pack(s); {seconds:F1} s");
        foreach (var problem in problems)
        {
            text.AppendLine().Append(CultureInfo.InvariantCulture, $"warning: filestore {problem.Kind} {problem.Name}: {problem.Detail}");
        }

        if (filestore.UnreferencedFiles > 0)
        {
            var kept = filestore.UnreferencedIncluded ? "backed up (IncludeUnreferencedFiles)" : "not backed up (set IncludeUnreferencedFiles to keep them)";
            text.AppendLine().Append(CultureInfo.InvariantCulture,
                $"note: {filestore.UnreferencedFiles} file(s) ({CliProgress.Size(filestore.UnreferencedBytes)}) on disk are referenced by no attachment; {kept}");
        }

        return invocation.Output.Success(
            new JsonObject
            {
                ["backupId"] = manifest.BackupId,
                ["target"] = manifest.Target,
                ["recoveryPoint"] = manifest.RecoveryPoint,
                ["startedAt"] = manifest.StartedAt,
                ["completedAt"] = manifest.CompletedAt,
                ["durationSeconds"] = Math.Round(seconds, 3),
                ["databaseSeconds"] = Math.Round(outcome.DatabaseElapsed.TotalSeconds, 3),
                ["filestoreSeconds"] = Math.Round(outcome.FilestoreElapsed.TotalSeconds, 3),
                ["dumpBytes"] = database.PlainSizeBytes,
                ["storedBytes"] = manifest.Objects.Sum(o => o.SizeBytes),
                ["serverVersion"] = manifest.Source.ServerVersion,
                ["odooVersion"] = manifest.Source.OdooVersion,
                ["objects"] = ObjectsJson(manifest),
                ["filestore"] = FilestoreJson(filestore, outcome.Filestore),
                ["warnings"] = new JsonArray(manifest.Warnings.Select(w => (JsonNode)w).ToArray()),
            },
            text.ToString());
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

        // Drill records are sealed with a key derived from the master key: when the passphrase opens the repository
        // every seal is checked (a damaged or forged record fails the listing); otherwise the listing, a catalog read,
        // still works and says the seals were not checked.
        var (repository, sealsNotChecked) = await OpenForSealsAsync(invocation, manifests.Count, cancellationToken);
        using var opened = repository;
        var drills = await DrillRecords.ListAsync(store, only, repository?.MasterKey, cancellationToken);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"TARGET",-24} {"BACKUP",-28} {"RECOVERY POINT (UTC)",-20} {"STORED",10} {"FILES",7}  ODOO");
        foreach (var m in manifests)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{m.Target,-24} {m.BackupId,-28} {m.RecoveryPoint.UtcDateTime,-20:yyyy-MM-dd HH:mm:ss} {CliProgress.Size(m.Objects.Sum(o => o.SizeBytes)),10} {(m.Filestore is null ? "-" : m.Filestore.Files.ToString(CultureInfo.InvariantCulture)),7}  {m.Source.OdooVersion ?? "-"}{(m.Warnings.Count > 0 ? $"  ({m.Warnings.Count} warning(s))" : "")}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"{manifests.Count} backup(s) in {store.Location}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"TARGET",-24} {"DRILL",-28} {"BACKUP",-28} {"OUTCOME",-15} {"RTO",9} {"RPO",12}");
        foreach (var d in drills.Select(d => d.Record))
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{d.Target,-24} {d.DrillId,-28} {d.BackupId,-28} {d.Outcome,-15} {(d.Rto.AchievedSeconds is { } rto ? DrillVerdict.Format(rto) : "-"),9} {(d.Rpo.AchievedSeconds is { } rpo ? DrillVerdict.Format(rpo) : "-"),12}");
        }

        text.Append(CultureInfo.InvariantCulture, $"{drills.Count} drill(s){(sealsNotChecked is not null && drills.Count > 0 ? $"; seals not checked ({sealsNotChecked})" : "")}");
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
                    ["filestoreFiles"] = m.Filestore?.Files,
                    ["warnings"] = m.Warnings.Count,
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

    /// <summary>The repository, to check drill record seals, or why it cannot be opened (no passphrase, a wrong one).</summary>
    private static async Task<(BackupRepository? Repository, string? NotChecked)> OpenForSealsAsync(
        CommandInvocation invocation, int backups, CancellationToken cancellationToken)
    {
        var options = invocation.Options.Repository;
        if (options.PassphraseFile.Length == 0 && options.Passphrase.Length == 0)
        {
            return (null, "no passphrase configured");
        }

        try
        {
            return (await invocation.OpenRepositoryAsync(cancellationToken), null);
        }
        catch (WrongPassphraseException)
        {
            return (null, "the passphrase does not open this repository");
        }
        catch (RepositoryNotFoundException) when (backups == 0)
        {
            return (null, "no repository yet");
        }
    }

    private async Task<int> VerifyAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        if (invocation.Parse.GetValue(_verifyWal))
        {
            return await VerifyWalAsync(invocation, cancellationToken);
        }

        var target = invocation.RequireTarget(_verifyTarget);
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var manifest = await BackupCatalog.ResolveAsync(repository.Store, target.Name, invocation.Parse.GetValue(_verifyBackup)!, cancellationToken);
        var report = await new CliProgress(_environment).RunAsync($"verify {target.Name}/{manifest.BackupId}", progress =>
            BackupVerifier.VerifyAsync(repository, manifest, invocation.Options.Filestore.DownloadParallelism,
                new SynchronousProgress<long>(b => progress.Report(("read", b))), cancellationToken));

        var json = new JsonObject
        {
            ["backupId"] = manifest.BackupId,
            ["target"] = manifest.Target,
            ["damaged"] = report.Damaged.Count + report.Files.Count,
            ["objects"] = new JsonArray(report.Objects.Select(o => (JsonNode)new JsonObject
            {
                ["name"] = o.Name,
                ["key"] = o.Key,
                ["ok"] = o.Problem is null,
                ["problem"] = o.Problem,
            }).ToArray()),
            ["damagedFiles"] = new JsonArray(report.Files.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["pack"] = f.Pack, ["problem"] = f.Problem }).ToArray()),
        };
        var lines = string.Join(Environment.NewLine, report.Objects.Where(o => o.Problem is not null || o.Name != "filestore pack").Select(o => $"  {(o.Problem is null ? "ok     " : "DAMAGED")} {o.Key}{(o.Problem is null ? "" : ": " + o.Problem)}"));
        var packs = report.Objects.Count(o => o.Name == "filestore pack");
        if (report.Damaged.Count == 0 && report.Files.Count == 0)
        {
            return invocation.Output.Success(json,
                $"backup {manifest.Target}/{manifest.BackupId} is intact: every object and {packs} filestore pack(s) read in full, checksums, authentication and every file's SHA-1 verified{Environment.NewLine}{lines}");
        }

        _environment.Error.WriteLine(lines);
        foreach (var file in report.Files)
        {
            _environment.Error.WriteLine($"  DAMAGED file {file.Name} (pack {file.Pack}): {file.Problem}");
        }

        return invocation.Output.Fail(ExitCodes.Failed,
            $"backup {manifest.Target}/{manifest.BackupId} is damaged ({report.Damaged.Count} object(s), {report.Files.Count} filestore file(s)); do not restore it: "
            + string.Join("; ", report.Damaged.Select(d => d.Key).Concat(report.Files.Take(10).Select(f => f.Name))), json);
    }

    private async Task<int> RestoreAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        if (IsPitrRestore(invocation.Parse))
        {
            return await PitrRestoreAsync(invocation, cancellationToken);
        }

        var target = invocation.RequireTarget(_restoreTarget);
        var into = invocation.Parse.GetValue(_restoreInto);
        var filestoreInto = invocation.Parse.GetValue(_restoreFilestore);
        var neutralize = invocation.Parse.GetValue(_restoreNeutralize);
        var force = invocation.Parse.GetValue(_restoreForce);
        if (into is null && filestoreInto is null)
        {
            throw new UsageException("restore needs --into CONNSTRING (the database), --filestore-into DIR (the filestore), or both; nothing was restored.");
        }

        if (neutralize && into is null)
        {
            throw new UsageException("--neutralize changes the restored database: give --into CONNSTRING as well; nothing was restored.");
        }

        if (filestoreInto is not null)
        {
            FilestoreRestorer.CheckDirectory(filestoreInto, force);
        }

        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var manifest = await BackupCatalog.ResolveAsync(repository.Store, target.Name, invocation.Parse.GetValue(_restoreBackup)!, cancellationToken);
        if (filestoreInto is not null && manifest.Filestore is null)
        {
            throw new UsageException($"--filestore-into: backup {manifest.Target}/{manifest.BackupId} has no filestore (it predates filestore backups); nothing was restored.");
        }

        var filestoreStep = new FilestoreRestoreStep(
            new FilestoreRestorer(invocation.Time, invocation.LoggerFactory.CreateLogger<FilestoreRestorer>()),
            new FilestoreRestoreOptions(invocation.Options.Filestore.DownloadParallelism, Overwrite: force));
        var json = new JsonObject
        {
            ["backupId"] = manifest.BackupId,
            ["target"] = manifest.Target,
            ["recoveryPoint"] = manifest.RecoveryPoint,
        };
        var text = new StringBuilder();
        var failures = new List<string>();
        FilestoreRestoreResult? files;
        if (into is not null)
        {
            // The database, then the filestore, then neutralization: the one pipeline drills run too.
            var jobs = invocation.Parse.GetValue(_restoreJobs);
            var options = new DatabaseRestoreOptions(
                force, jobs > 0 ? jobs : DatabaseRestoreOptions.DefaultJobs, invocation.Options.Sandbox.WorkPath, Check: !invocation.Parse.GetValue(_restoreNoCheck));
            Directory.CreateDirectory(options.WorkPath);
            var pipeline = new RestorePipeline(new DatabaseRestorer(invocation.Time, invocation.LoggerFactory.CreateLogger<DatabaseRestorer>()), filestoreStep, invocation.Time);
            var restored = await new CliProgress(_environment).RunAsync($"restore {target.Name}/{manifest.BackupId}", progress =>
                pipeline.RunAsync(repository, new RestoreRequest(manifest, RestoreInto.Ready(into), options, filestoreInto, neutralize),
                    new SynchronousProgress<RestoreProgress>(p => progress.Report((p.Phase.ToString().ToLowerInvariant(), p.Bytes))), cancellationToken));
            var result = restored.Database;
            files = restored.Filestore;
            var phases = string.Join(", ", result.Phases.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Phase.ToString().ToLowerInvariant()} {p.Elapsed.TotalSeconds:F1} s")));
            json["database"] = result.Database;
            json["created"] = result.Created;
            json["replaced"] = result.Replaced;
            json["dumpBytes"] = result.DumpBytes;
            json["phases"] = new JsonObject(result.Phases.Select(p => KeyValuePair.Create(p.Phase.ToString().ToLowerInvariant(), (JsonNode?)Math.Round(p.Elapsed.TotalSeconds, 3))));
            json["checked"] = result.Checked;
            json["differences"] = new JsonArray(result.Differences.Select(d => (JsonNode)d).ToArray());
            json["neutralized"] = restored.Neutralization is not null;
            json["neutralization"] = restored.Neutralization is null ? null : new JsonArray(restored.Neutralization.Steps.Select(step => (JsonNode)new JsonObject
            {
                ["step"] = step.Name,
                ["rows"] = step.Rows,
                ["notApplicable"] = step.NotApplicable,
            }).ToArray());
            if (restored.Neutralization is not null
                && await NeutralizationProbe.CheckAsync(result.ConnectionString, cancellationToken) is { Status: not ProbeStatus.Passed } proof)
            {
                failures.Add($"restored into {result.Database}, but the copy is not neutralized: {proof.Details}; do not start Odoo on it");
            }

            if (!result.Matches)
            {
                failures.Add($"restored into {result.Database}, but it does not match the backup's evidence: {string.Join("; ", result.Differences)}");
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"restored {manifest.Target}/{manifest.BackupId} (recovery point {manifest.RecoveryPoint:u}) into database {result.Database}: {phases}")
                    .Append(result.Checked ? "; row counts, content fingerprints and ledger totals match the backup" : "; not checked (--no-check)")
                    .AppendLine(restored.Neutralization is { } n
                        ? string.Create(CultureInfo.InvariantCulture, $"; neutralized ({n.RowsChanged} rows changed: no mail, no cron but autovacuum, no live payment provider)")
                        : target.IsProduction ? "; NOT neutralized: this is a production copy that can send mail and run crons (use --neutralize for staging copies)" : "");
            }
        }
        else
        {
            files = await new CliProgress(_environment).RunAsync($"restore filestore {target.Name}/{manifest.BackupId}", progress =>
                filestoreStep.RestoreAsync(repository, manifest, filestoreInto!,
                    new SynchronousProgress<RestoreProgress>(p => progress.Report(("packs read", p.Bytes))), cancellationToken));
        }

        if (files is not null)
        {
            json["filestore"] = new JsonObject
            {
                ["directory"] = files.Directory,
                ["files"] = files.Files,
                ["bytes"] = files.Bytes,
                ["packs"] = files.Packs,
                ["packBytes"] = files.PackBytes,
                ["seconds"] = Math.Round(files.Elapsed.TotalSeconds, 3),
                ["damagedPacks"] = new JsonArray(files.Damaged.Select(d => (JsonNode)new JsonObject { ["key"] = d.Key, ["problem"] = d.Problem }).ToArray()),
                ["notRestored"] = new JsonArray(files.Problems.Select(p => (JsonNode)new JsonObject { ["name"] = p.Name, ["pack"] = p.Pack, ["problem"] = p.Problem }).ToArray()),
                ["missingAtBackup"] = new JsonArray(files.SourceProblems.Select(p => (JsonNode)new JsonObject { ["name"] = p.Name, ["kind"] = p.Kind.ToString(), ["detail"] = p.Detail }).ToArray()),
            };
            foreach (var problem in files.Problems)
            {
                _environment.Error.WriteLine($"  NOT RESTORED {problem.Name} (pack {problem.Pack}): {problem.Problem}");
            }

            if (!files.Complete)
            {
                failures.Add($"the filestore is incomplete in {files.Directory}: {files.Problems.Count} file(s) not restored from {files.Damaged.Count} damaged pack(s)");
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture,
                    $"restored the filestore of {manifest.Target}/{manifest.BackupId} into {files.Directory}: {files.Files} files ({CliProgress.Size(files.Bytes)}), every SHA-1 checked, in {files.Elapsed.TotalSeconds:F1} s");
                if (files.SourceProblems.Count > 0)
                {
                    text.AppendLine().Append(CultureInfo.InvariantCulture,
                        $"note: {files.SourceProblems.Count} file(s) were already missing or damaged at the source when the backup ran (see the backup's warnings)");
                }
            }
        }

        return failures.Count > 0
            ? invocation.Output.Fail(ExitCodes.Failed, $"restore of {manifest.Target}/{manifest.BackupId} failed: {string.Join("; ", failures)}", json)
            : invocation.Output.Success(json, text.ToString().TrimEnd());
    }

    private static JsonObject FilestoreJson(ManifestFilestore summary, FilestoreBackupResult result) => new()
    {
        ["files"] = summary.Files,
        ["bytes"] = summary.SizeBytes,
        ["filesRead"] = summary.FilesRead,
        ["bytesRead"] = summary.BytesRead,
        ["packsWritten"] = summary.PacksWritten,
        ["uploadedBytes"] = summary.UploadedBytes,
        ["packs"] = summary.Packs,
        ["storedBytes"] = summary.StoredBytes,
        ["tablesOfContentsRead"] = result.Stats.TablesRead,
        ["unreferencedFiles"] = summary.UnreferencedFiles,
        ["unreferencedBytes"] = summary.UnreferencedBytes,
        ["unreferencedIncluded"] = summary.UnreferencedIncluded,
        ["problems"] = new JsonArray(result.Index.Problems.Select(p => (JsonNode)new JsonObject
        {
            ["name"] = p.Name,
            ["kind"] = p.Kind.ToString(),
            ["detail"] = p.Detail,
        }).ToArray()),
    };

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
