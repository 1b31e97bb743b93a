using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Pitr;
using BackupDr.DrillRunner.Restore;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Wal;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Cli;

/// <summary>Point-in-time recovery verbs: restore <c>--to-time/--to-lsn/--latest</c>, <c>wal-fetch</c>, <c>pitr</c>, <c>verify --wal</c>.</summary>
internal sealed partial class BackupDrCli
{
    /// <summary>restore_command must stop recovery on damage: PostgreSQL treats an exit status above 125 as fatal, any other as "not archived".</summary>
    private const int WalFetchFatal = 126;

    private readonly Option<string?> _restoreToTime = new("--to-time")
    {
        Description = "PITR: restore the whole cluster to this moment (ISO 8601 with an offset, e.g. 2026-11-23T10:15:00Z): every transaction committed before it, none after",
        HelpName = "TIME",
    };

    private readonly Option<string?> _restoreToLsn = new("--to-lsn") { Description = "PITR: restore the whole cluster to this WAL location (e.g. 0/3000060)", HelpName = "LSN" };

    private readonly Option<bool> _restoreLatest = new("--latest") { Description = "PITR: restore the whole cluster to the end of the WAL archive" };

    private readonly Option<string?> _restoreDataDir = new("--data-dir")
    {
        Description = "PITR: a new or empty folder for the restored cluster (its data folder, socket and log); the server is left running there",
        HelpName = "DIR",
    };

    private readonly Option<bool> _verifyWal = new("--wal") { Description = "PITR: check the WAL chain for gaps from every base backup's start, and read every base backup and WAL object in full" };

    private readonly Option<bool> _drillPitr = new("--pitr")
    {
        Description = "PITR: restore the whole cluster to now minus the flush interval (with --backup sample: a random moment of the restorable range), probe it, record the achieved RPO",
    };

    private readonly Option<string> _pitrTarget = TargetOption(required: true);
    private readonly Option<string> _walFetchTarget = TargetOption(required: true);
    private readonly Option<string?> _walFetchKeyFile = new("--key-file") { Description = "The target's WAL key written by the restore (instead of the passphrase)", HelpName = "FILE" };
    private readonly Argument<string> _walFetchFile = new("file") { Description = "The WAL file recovery asks for (%f)" };
    private readonly Argument<string> _walFetchPath = new("path") { Description = "Where to write it (%p)" };

    private bool IsPitrRestore(ParseResult parse) =>
        parse.GetValue(_restoreToTime) is not null || parse.GetValue(_restoreToLsn) is not null || parse.GetValue(_restoreLatest);

    private Command PitrGroup() => Group("pitr", "Point-in-time recovery: base backups and the WAL archive",
        Verb("base-backup", "Take one base backup (pg_basebackup) of a PITR target now", PitrBaseBackupAsync, _pitrTarget),
        Verb("status", "The WAL archive of a target: restorable range, lag behind the source, slot retention", PitrStatusAsync, _pitrTarget));

    private Command WalFetchCommand()
    {
        var command = Verb("wal-fetch", "Internal: the restore_command of a PITR restore (exit 1 when the file is not archived)", WalFetchAsync, _walFetchTarget, _walFetchKeyFile);
        command.Hidden = true;
        command.Arguments.Add(_walFetchFile);
        command.Arguments.Add(_walFetchPath);
        return command;
    }

    private async Task<int> PitrBaseBackupAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = RequirePitrTarget(invocation, _pitrTarget);
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var service = new BaseBackupService(invocation.Time, invocation.LoggerFactory.CreateLogger<BaseBackupService>());
        var manifest = await service.BackupAsync(repository, target, cancellationToken);
        var tar = manifest.Object(BaseBackups.TarObjectName);
        return invocation.Output.Success(
            new JsonObject
            {
                ["backupId"] = manifest.BackupId,
                ["target"] = manifest.Target,
                ["kind"] = manifest.Pitr!.Kind,
                ["startLsn"] = manifest.Pitr.StartLsn,
                ["startSegment"] = manifest.Pitr.StartSegment,
                ["endLsn"] = manifest.Pitr.EndLsn,
                ["timeline"] = manifest.Pitr.Timeline,
                ["recoveryPoint"] = manifest.RecoveryPoint,
                ["tarBytes"] = tar.PlainSizeBytes,
                ["storedBytes"] = tar.SizeBytes,
            },
            $"{manifest.BackupId}\nbase backup of {manifest.Target} committed: WAL {manifest.Pitr.StartLsn}..{manifest.Pitr.EndLsn} on timeline {manifest.Pitr.Timeline}, "
            + $"restorable from {manifest.RecoveryPoint:u}; {CliProgress.Size(tar.PlainSizeBytes)} stored as {CliProgress.Size(tar.SizeBytes)}");
    }

    private async Task<int> PitrStatusAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = RequirePitrTarget(invocation, _pitrTarget);
        var store = invocation.OpenStore();
        var bases = await BaseBackups.ListAsync(store, target.Name, cancellationToken);
        var status = await PitrStatus.ReadAsync(store, target.Name, cancellationToken);
        var range = PitrRestorer.Range(bases, status);
        var json = new JsonObject
        {
            ["target"] = target.Name,
            ["restorableFrom"] = range.From,
            ["restorableTo"] = range.To,
            ["baseBackups"] = new JsonArray(bases.Select(b => (JsonNode)new JsonObject
            {
                ["backupId"] = b.BackupId, ["recoveryPoint"] = b.RecoveryPoint, ["startLsn"] = b.Pitr!.StartLsn, ["endLsn"] = b.Pitr.EndLsn,
            }).ToArray()),
            ["archiver"] = status is null ? null : new JsonObject
            {
                ["writtenAt"] = status.WrittenAt, ["host"] = status.Host, ["timeline"] = status.Timeline, ["archivedLsn"] = status.ArchivedLsn,
                ["sourceLsn"] = status.SourceLsn, ["lagBytes"] = status.LagBytes, ["slot"] = status.Slot, ["slotRetainedBytes"] = status.SlotRetainedBytes,
                ["slotRecreated"] = status.SlotRecreated is not { } recreated ? null : new JsonObject
                {
                    ["at"] = recreated.At, ["timeline"] = recreated.Timeline, ["archivedTimeline"] = recreated.ArchivedTimeline,
                    ["slotLsn"] = recreated.SlotLsn, ["resumedFrom"] = recreated.ResumedFrom, ["note"] = recreated.Note,
                },
            },
        };
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{target.Name}: restorable {range}; {bases.Count} base backup(s)");
        text.Append(status is null
            ? "no archiver has reported yet (is 'backupdr run' running with Pitr enabled?)"
            : string.Create(CultureInfo.InvariantCulture,
                $"archiver on {status.Host} at {status.WrittenAt:u}: timeline {status.Timeline}, archived to {status.ArchivedLsn ?? "-"} of {status.SourceLsn} (lag {CliProgress.Size(status.LagBytes)}), slot {status.Slot} retains {CliProgress.Size(status.SlotRetainedBytes)}"));
        if (status?.SlotRecreated is { } slotRecreated)
        {
            text.AppendLine().Append(CultureInfo.InvariantCulture, $"at {slotRecreated.At:u} the archiver {slotRecreated.Note}");
        }

        return invocation.Output.Success(json, text.ToString());
    }

    private async Task<int> WalFetchAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var file = invocation.Parse.GetRequiredValue(_walFetchFile);
        var path = invocation.Parse.GetRequiredValue(_walFetchPath);
        try
        {
            var target = invocation.RequireTarget(_walFetchTarget);
            var store = invocation.OpenStore();
            using var walKey = await OpenWalKeyAsync(invocation, target.Name, cancellationToken);
            var archive = new WalArchive(store, target.Name, walKey);
            var listed = await archive.FindAsync(file, cancellationToken);
            if (listed is null)
            {
                return invocation.Output.Fail(ExitCodes.Failed, $"{file} is not in the WAL archive of '{target.Name}'");
            }

            var (wal, content) = await archive.ReadCurrentAsync(listed, cancellationToken);
            var temporary = path + ".backupdr-fetch";
            await using (var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await output.WriteAsync(content, cancellationToken);
                output.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            return invocation.Output.Success(new JsonObject { ["file"] = file, ["key"] = wal.Key.Value, ["bytes"] = content.Length },
                $"{file}: restored from {wal.Key.Value}{(wal.Kind == WalObjectKind.Partial ? " (partial segment)" : "")}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The restore_command boundary: anything but "not archived" must stop recovery, never end it early as if
            // the archive ended here (that would promote a copy missing committed transactions).
            return invocation.Output.Fail(WalFetchFatal, $"{file} could not be fetched; recovery must stop: {e.Message}");
        }
    }

    private async Task<DataKey> OpenWalKeyAsync(CommandInvocation invocation, string target, CancellationToken cancellationToken)
    {
        if (invocation.Parse.GetValue(_walFetchKeyFile) is { } keyFile)
        {
            var bytes = await File.ReadAllBytesAsync(keyFile, cancellationToken);
            try
            {
                return bytes.Length == KeyMaterial.Length ? DataKey.FromBytes(bytes) : throw new InvalidDataException($"{keyFile} is not a WAL key");
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
            }
        }

        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        return WalKeys.Derive(repository.MasterKey, target);
    }

    private async Task<int> PitrRestoreAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = RequirePitrTarget(invocation, _restoreTarget);
        var recoveryTarget = ParseRecoveryTarget(invocation.Parse);
        var dataDir = invocation.Parse.GetValue(_restoreDataDir)
            ?? throw new UsageException("a point-in-time restore needs --data-dir DIR (a new or empty folder for the restored cluster); nothing was restored.");
        if (invocation.Parse.GetValue(_restoreInto) is not null || invocation.Parse.GetValue(_restoreFilestore) is not null)
        {
            throw new UsageException("--to-time/--to-lsn/--latest restore a whole cluster into --data-dir; --into and --filestore-into belong to dump restores (--backup); nothing was restored.");
        }

        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var restorer = new PitrRestorer(invocation.Time, invocation.LoggerFactory.CreateLogger<PitrRestorer>());
        var result = await restorer.RestoreAsync(repository, target, recoveryTarget, dataDir, BuildWalFetchCommand(invocation), cancellationToken);
        return invocation.Output.Success(
            new JsonObject
            {
                ["target"] = target.Name,
                ["recoveryTarget"] = result.Target.ToString(),
                ["baseBackupId"] = result.BaseBackup.BackupId,
                ["lastReplayedTransaction"] = result.LastReplayedTransaction,
                ["replayedLsn"] = result.ReplayedLsn,
                ["timeline"] = result.Timeline,
                ["restorableFrom"] = result.Range.From,
                ["restorableTo"] = result.Range.To,
                ["walSegmentsChecked"] = result.Chain.SegmentsChecked,
                ["seconds"] = Math.Round(result.Elapsed.TotalSeconds, 3),
                ["dataDirectory"] = result.Cluster.DataDirectory,
                ["host"] = result.Cluster.Host,
                ["port"] = result.Cluster.Port,
                ["superuser"] = result.Cluster.Superuser,
            },
            string.Create(CultureInfo.InvariantCulture,
                $"{target.Name} restored to {result.Target} from base backup {result.BaseBackup.BackupId} in {result.Elapsed.TotalSeconds:F1} s; last replayed transaction committed at {result.LastReplayedTransaction:O}, WAL {result.ReplayedLsn}, timeline {result.Timeline}.\n"
                + $"The promoted cluster runs on {result.Cluster.Host}:{result.Cluster.Port} (user {result.Cluster.Superuser}), data in {result.Cluster.DataDirectory}; stop it with: pg_ctl stop -D {result.Cluster.DataDirectory}"));
    }

    private RecoveryTarget ParseRecoveryTarget(ParseResult parse)
    {
        var time = parse.GetValue(_restoreToTime);
        var lsn = parse.GetValue(_restoreToLsn);
        var latest = parse.GetValue(_restoreLatest);
        if ((time is not null ? 1 : 0) + (lsn is not null ? 1 : 0) + (latest ? 1 : 0) != 1)
        {
            throw new UsageException("give exactly one of --to-time, --to-lsn, --latest; nothing was restored.");
        }

        if (time is not null)
        {
            return DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.None, out var moment)
                && (time.EndsWith('Z') || time.Contains('+', StringComparison.Ordinal) || time.LastIndexOf('-') > 9)
                ? RecoveryTarget.ToTime(moment)
                : throw new UsageException($"--to-time: '{time}' is not a moment with an offset; write e.g. 2026-11-23T10:15:00Z");
        }

        return lsn is not null
            ? Lsn.TryParse(lsn, out var position) ? RecoveryTarget.ToLsn(position) : throw new UsageException($"--to-lsn: '{lsn}' is not a WAL location; write e.g. 0/3000060")
            : RecoveryTarget.Latest;
    }

    /// <summary>How the restored server calls back into this executable (same configuration, never the passphrase).</summary>
    private WalFetchCommand BuildWalFetchCommand(CommandInvocation invocation)
    {
        var prefix = new List<string>();
        var processPath = Environment.ProcessPath ?? "";
        if (Path.GetFileName(processPath) == "backupdr")
        {
            prefix.Add(processPath);
        }
        else
        {
            // Run through the dotnet host (tests and `dotnet backupdr.dll`): the assembly beside its runtime config.
            prefix.Add(Path.GetFileName(processPath) == "dotnet" ? processPath : "dotnet");
            prefix.Add(typeof(BackupDrCli).Assembly.Location);
        }

        if (invocation.Parse.GetValue(_config) is { } config)
        {
            prefix.Add("--config");
            prefix.Add(Path.GetFullPath(config));
        }

        var environment = _environment.Variables
            .Where(v => v.Key.StartsWith("BackupDr__", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(v => v.Key, v => (string?)v.Value, StringComparer.Ordinal);
        environment["BackupDr__Repository__Passphrase"] = "";
        environment["BackupDr__Repository__PassphraseFile"] = "";
        return new WalFetchCommand(prefix, environment);
    }

    private static TargetOptions RequirePitrTarget(CommandInvocation invocation, Option<string> option)
    {
        var target = invocation.RequireTarget(option);
        return target.Pitr.Enabled
            ? target
            : throw new UsageException($"--target: '{target.Name}' does not have point-in-time recovery (set Targets:N:Pitr:Enabled and BaseBackupSchedule)");
    }

    private async Task<int> VerifyWalAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = RequirePitrTarget(invocation, _verifyTarget);
        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var report = await new CliProgress(_environment).RunAsync($"verify {target.Name} WAL archive", progress =>
            WalVerifier.VerifyAsync(repository, target.Name, new Repository.Progress.SynchronousProgress<long>(b => progress.Report(("read", b))), cancellationToken));
        var chain = report.Chain;
        var json = new JsonObject
        {
            ["target"] = target.Name,
            ["baseBackups"] = report.BaseBackups,
            ["walObjects"] = report.WalObjects,
            ["firstSegment"] = chain?.FirstSegment,
            ["lastSegment"] = chain?.LastSegment,
            ["segmentsChecked"] = chain?.SegmentsChecked,
            ["gaps"] = new JsonArray((chain?.Gaps ?? []).Select(g => (JsonNode)new JsonObject
            {
                ["firstMissing"] = g.FirstMissing, ["lastMissing"] = g.LastMissing, ["segments"] = g.Segments, ["reason"] = g.Reason,
            }).ToArray()),
            ["problems"] = new JsonArray((chain?.Problems ?? []).Select(p => (JsonNode)p).ToArray()),
            ["damaged"] = new JsonArray(report.Damaged.Select(d => (JsonNode)new JsonObject { ["key"] = d.Key, ["problem"] = d.Problem }).ToArray()),
            ["foreign"] = new JsonArray(report.Foreign.Select(k => (JsonNode)k.Value).ToArray()),
        };
        if (chain is null)
        {
            return invocation.Output.Fail(ExitCodes.Failed, $"'{target.Name}' has no PITR base backup: nothing can be restored to a moment yet", json);
        }

        if (report.IsIntact)
        {
            return invocation.Output.Success(json, string.Create(CultureInfo.InvariantCulture,
                $"WAL archive of {target.Name} is continuous from {chain.FirstSegment} to {chain.LastSegment} ({chain.SegmentsChecked} segments); {report.BaseBackups} base backup(s) and {report.WalObjects} WAL object(s) read in full, checksums and authentication verified"));
        }

        var problems = chain.Gaps.Select(g => "gap: " + g).Concat(chain.Problems)
            .Concat(report.Damaged.Select(d => $"DAMAGED {d.Key}: {d.Problem}"))
            .Concat(report.Foreign.Select(k => $"not a WAL object: {k.Value}"));
        return invocation.Output.Fail(ExitCodes.Failed,
            $"WAL archive of {target.Name} is broken; moments after the first gap cannot be restored: {string.Join("; ", problems)}", json);
    }

    private async Task<int> PitrDrillAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var target = RequirePitrTarget(invocation, _drillTarget);
        var options = invocation.Options;
        var reference = invocation.Parse.GetValue(_drillBackup)!;
        if (reference is not ("latest" or "sample"))
        {
            throw new UsageException("--pitr drills restore to a moment, not a backup: give --backup latest (now minus the flush interval) or sample (a random moment)");
        }

        using var repository = await invocation.OpenRepositoryAsync(cancellationToken);
        var service = new DrillRunner.Drills.PitrDrillService(
            new PitrRestorer(invocation.Time, invocation.LoggerFactory.CreateLogger<PitrRestorer>()), invocation.Time,
            invocation.LoggerFactory.CreateLogger<DrillRunner.Drills.PitrDrillService>());
        var request = new DrillRunner.Drills.PitrDrillRequest(target, target.Tier, options.Tiers[target.Tier], reference == "sample",
            BuildWalFetchCommand(invocation), options.Sandbox.WorkPath);
        var record = await service.RunAsync(repository, request, new CliDrillObserver(_environment, target.Name), cancellationToken);
        var json = JsonNode.Parse(Repository.Drills.DrillRecords.Serialize(record))!.AsObject();
        var passed = record.Outcome == Repository.Drills.DrillOutcome.Passed;
        return invocation.Output.Report(passed ? ExitCodes.Success : ExitCodes.Failed, json, DrillTable(record),
            passed ? null : $"drill {record.DrillId} of {record.Target}: {record.Outcome}: {string.Join("; ", record.Reasons)}");
    }
}
