using BackupDr.BackupWorker.Cli;
using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Hosting;
using BackupDr.DrillRunner.Restore;
using BackupDr.Repository.Drills;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupDr.IntegrationTests.Pitr;

/// <summary>The worker's scheduled drills of a PITR target, against a real PostgreSQL 15 primary and its archive: PITR and dump drills take turns.</summary>
public sealed class PitrScheduledDrillTests
{
    [Fact]
    public async Task ScheduledDrills_PitrTarget_PitrDrillToNowMinusFlushIntervalThenADumpDrill()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        var (baseBackup, last) = await scenario.PrepareDrillAsync(5, cancellationToken);
        var options = scenario.LoadOptions();
        var loggers = NullLoggerFactory.Instance;
        await using var access = new RepositoryAccess(options, TimeProvider.System, loggers);
        var identity = WorkerIdentity.Create(options.Scheduler, TimeProvider.System);

        // What 'backupdr run' binds: the restored server calls 'backupdr wal-fetch' with the same configuration, no passphrase.
        var fetch = new WalFetchCommand(
            ["dotnet", typeof(BackupDrCli).Assembly.Location, "--config", scenario.ConfigPath],
            new Dictionary<string, string?> { ["BackupDr__Repository__Passphrase"] = "", ["BackupDr__Repository__PassphraseFile"] = "" });
        using var service = new ScheduledDrillService(options, access, identity, fetch, TimeProvider.System, loggers);

        var result = await service.RunAsync(options.Targets[0], DrillBackupChoice.Latest, cancellationToken);

        var records = await DrillRecords.ListAsync(access.Store, PitrScenario.Target, masterKey: null, cancellationToken);
        var record = records.ShouldHaveSingleItem().Record;
        result.Outcome.ShouldBe(ScheduledDrillOutcome.Passed, $"{record.Error}; {string.Join("; ", record.Reasons)}");
        result.BackupId.ShouldBe(baseBackup["backupId"]!.GetValue<string>());
        record.DrillId.ShouldBe(result.DrillId);
        record.Selection.ShouldBe("pitr");
        record.Pitr.ShouldNotBeNull().Choice.ShouldBe("now-minus-flush-interval");
        record.Pitr.LastReplayedTransaction.ShouldBe(await scenario.LastCommitBeforeAsync(record.Pitr.RequestedMoment, cancellationToken));
        record.Pitr.LastReplayedTransaction.ShouldNotBeNull().ShouldBeGreaterThanOrEqualTo(last.Committed);
        record.Rpo.AchievedSeconds.ShouldNotBeNull().ShouldBe(Math.Round((record.Pitr.RequestedMoment - record.Pitr.LastReplayedTransaction.Value).TotalSeconds, 3), 0.002);
        result.AchievedRpo.ShouldNotBeNull().TotalSeconds.ShouldBe(record.Rpo.AchievedSeconds!.Value, 0.001);
        (await DrillLease.ReadLiveAsync(access.Store, PitrScenario.Target, TimeProvider.System, cancellationToken)).ShouldBeEmpty("the drill's lease ends with its record");

        // The next scheduled drill takes the other turn: the target's dump backup and filestore, as every target's.
        var dump = await scenario.RunJsonAsync("backup", "--target", PitrScenario.Target);

        var next = await service.RunAsync(options.Targets[0], DrillBackupChoice.Latest, cancellationToken);

        var dumpRecord = (await DrillRecords.LatestAsync(access.Store, PitrScenario.Target, masterKey: null, cancellationToken)).ShouldNotBeNull();
        dumpRecord.DrillId.ShouldBe(next.DrillId);
        next.Outcome.ShouldBe(ScheduledDrillOutcome.Passed, $"{dumpRecord.Error}; {string.Join("; ", dumpRecord.Reasons)}");
        dumpRecord.Pitr.ShouldBeNull();
        dumpRecord.BackupId.ShouldBe(dump["backupId"]!.GetValue<string>());
    }
}
