using BackupDr.Repository.Wal;
using Npgsql;

namespace BackupDr.IntegrationTests.Pitr;

/// <summary>
/// A failover of the source under a running archive, with real PostgreSQL 15 servers: primary A (timeline 1) is
/// archived, a streaming standby B is promoted after A stops (timeline 2), and the target's connection is pointed at B.
/// </summary>
public sealed class PitrFailoverTests
{
    [Fact]
    public async Task Failover_PromotedStandby_ArchiveFollowsTimeline2WithoutGapAndRestoresEveryMoment()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        scenario.StartArchiver();
        var baseBackup = await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        var standby = await scenario.CreateStandbyAsync(cancellationToken);

        var moves = new List<(long Id, DateTimeOffset Committed)>();
        for (var i = 0; i < 6; i++)
        {
            moves.Add(await scenario.InsertMoveAsync($"on A {i}", cancellationToken));
            if (i == 2)
            {
                await scenario.SwitchWalAsync(cancellationToken);
            }
        }

        var onTimeline1 = await scenario.SourceNowAsync(cancellationToken);
        await scenario.WaitUntilCoveredAsync(onTimeline1, cancellationToken);

        // Written after the archiver's last flush on A: the standby and pg_receivewal received them before A stopped.
        for (var i = 0; i < 4; i++)
        {
            moves.Add(await scenario.InsertMoveAsync($"on A, unflushed {i}", cancellationToken));
        }

        await scenario.FailOverAsync(standby, cancellationToken);
        (await PitrScenario.TimelineAsync(scenario.AdminConnectionString, cancellationToken)).ShouldBe(2u);

        // The worker restarts an archiver whose source went away; it now reaches B, which has no slot.
        (await scenario.WaitForArchiverFailureAsync()).ShouldBeAssignableTo<NpgsqlException>();
        scenario.StartArchiver();
        for (var i = 0; i < 6; i++)
        {
            moves.Add(await scenario.InsertMoveAsync($"on B {i}", cancellationToken));
            if (i == 2)
            {
                await scenario.SwitchWalAsync(cancellationToken);
            }
        }

        var onTimeline2 = await scenario.SourceNowAsync(cancellationToken);
        for (var i = 0; i < 3; i++)
        {
            moves.Add(await scenario.InsertMoveAsync($"on B, late {i}", cancellationToken));
        }

        await scenario.WaitUntilArchivedAsync(WalSegmentName.HistoryFileName(2), cancellationToken);
        await scenario.WaitUntilCoveredAsync(await scenario.SourceNowAsync(cancellationToken), cancellationToken);

        scenario.ArchiverLog.ShouldContain(line => line.StartsWith("Warning:", StringComparison.Ordinal) && line.Contains("do not survive a failover", StringComparison.Ordinal));
        var status = await scenario.RunJsonAsync("pitr", "status", "--target", PitrScenario.Target);
        var archiver = status["archiver"]!;
        archiver["timeline"]!.GetValue<uint>().ShouldBe(2u);
        var recreated = archiver["slotRecreated"].ShouldNotBeNull();
        recreated["timeline"]!.GetValue<uint>().ShouldBe(2u);
        recreated["archivedTimeline"]!.GetValue<uint>().ShouldBe(1u);
        recreated["resumedFrom"]!.GetValue<string>().ShouldStartWith("00000001", customMessage: "streaming resumes from the spool's timeline-1 position, not the new slot's");
        recreated["note"]!.GetValue<string>().ShouldContain("do not survive a failover");

        var verify = await scenario.RunJsonAsync("verify", "--target", PitrScenario.Target, "--wal");
        verify["gaps"]!.AsArray().ShouldBeEmpty();
        verify["problems"]!.AsArray().ShouldBeEmpty();
        verify["lastSegment"]!.GetValue<string>().ShouldStartWith("00000002");
        (await scenario.EvaluateHoleAlertAsync(cancellationToken)).ShouldBeNull();

        // A moment after the promotion, from the base backup taken on A: rows of both timelines, none after the moment.
        var afterPromotion = await RestoreToTimeAsync(scenario, onTimeline2, cancellationToken);
        afterPromotion.Ids.ShouldBe(moves.Where(m => m.Committed < onTimeline2).Select(m => m.Id));
        afterPromotion.Ids.ShouldContain(moves[9].Id); // the last one written on A, after the archiver's last flush there
        afterPromotion.Ids.ShouldContain(moves[15].Id); // the last one written on B before the moment
        afterPromotion.Restore["baseBackupId"]!.GetValue<string>().ShouldBe(baseBackup["backupId"]!.GetValue<string>());
        afterPromotion.Restore["timeline"]!.GetValue<uint>().ShouldBeGreaterThan(2u);

        // A moment before the promotion: recovery follows timeline 1 as far as the moment (through B's copy of the switch segment).
        var beforePromotion = await RestoreToTimeAsync(scenario, onTimeline1, cancellationToken);
        beforePromotion.Ids.ShouldBe(moves.Where(m => m.Committed < onTimeline1).Select(m => m.Id));
        beforePromotion.Restore["timeline"]!.GetValue<uint>().ShouldBeGreaterThanOrEqualTo(2u);

        var latest = await scenario.RunJsonAsync("restore", "--target", PitrScenario.Target, "--latest", "--data-dir", scenario.NewDataDirectory());
        var restored = await scenario.OpenRestoredAsync(latest, cancellationToken);
        (await PitrScenario.MoveIdsAsync(restored.ConnectionString("acme").ConnectionString, cancellationToken)).ShouldBe(moves.Select(m => m.Id));

        // A missing history file, then a hole after the switch: each is reported naming what is missing.
        await using (await LoseAsync(scenario, WalSegmentName.HistoryFileName(2), cancellationToken))
        {
            var broken = await scenario.RunAsync("verify", "--target", PitrScenario.Target, "--wal", "--json");
            broken.ExitCode.ShouldBe(1, broken.ToString());
            broken.Json["problems"]!.AsArray().ShouldHaveSingleItem()!.GetValue<string>().ShouldStartWith("missing: 00000002.history");
            broken.Json["gaps"]!.AsArray().ShouldBeEmpty();
            var hole = (await scenario.EvaluateHoleAlertAsync(cancellationToken)).ShouldNotBeNull();
            hole.IsOpen.ShouldBeTrue();
            hole.Opened.Details.ShouldContain("00000002.history");
        }

        (await scenario.EvaluateHoleAlertAsync(cancellationToken)).ShouldNotBeNull().IsOpen.ShouldBeFalse();
        string afterSwitch;
        using (var repository = await scenario.OpenRepositoryAsync(cancellationToken))
        {
            using var key = WalKeys.Derive(repository.MasterKey, PitrScenario.Target);
            afterSwitch = (await new WalArchive(repository.Store, PitrScenario.Target, key).ListAsync(cancellationToken)).Objects
                .Where(o => o.Timeline == 2 && o.Kind == WalObjectKind.Segment).Min(o => o.FileName)!;
        }

        await using (await LoseAsync(scenario, afterSwitch, cancellationToken))
        {
            var broken = await scenario.RunAsync("verify", "--target", PitrScenario.Target, "--wal", "--json");
            broken.ExitCode.ShouldBe(1, broken.ToString());
            broken.Json["gaps"]!.AsArray().ShouldHaveSingleItem()!["firstMissing"]!.GetValue<string>().ShouldBe(afterSwitch);
        }
    }

    [Fact]
    public async Task Failover_NewPrimaryRecycledTheUnarchivedWal_ArchiverResumesFromItsNewSlotAndTheHoleIsReported()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        scenario.StartArchiver();
        await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        var standby = await scenario.CreateStandbyAsync(cancellationToken);
        await scenario.InsertMoveAsync("archived on A", cancellationToken);
        await scenario.WaitUntilCoveredAsync(await scenario.SourceNowAsync(cancellationToken), cancellationToken);

        // The worker is down across the failover, and B (no slot holds WAL there) recycles the switch segment meanwhile.
        await scenario.StopArchiverAsync();
        await scenario.InsertMoveAsync("on A while the worker is down", cancellationToken);
        await scenario.FailOverAsync(standby, cancellationToken);
        for (var i = 0; i < 3; i++)
        {
            await scenario.InsertMoveAsync($"on B while the worker is down {i}", cancellationToken);
            await scenario.SwitchWalAsync(cancellationToken);
            await scenario.AdminAsync("acme", "CHECKPOINT", cancellationToken);
        }

        var history = WalChain.ParseHistory(await File.ReadAllTextAsync(Path.Combine(standby.DataDirectory, "pg_wal", WalSegmentName.HistoryFileName(2)), cancellationToken));
        var switchSegment = new WalSegmentName(2, history.ShouldHaveSingleItem().SwitchPoint.Segment(WalSegmentName.DefaultSegmentSizeBytes)).Format(WalSegmentName.DefaultSegmentSizeBytes);

        scenario.StartArchiver();
        (await scenario.WaitForArchiverFailureAsync()).Message.ShouldContain("no longer has the WAL after the spool's position");
        scenario.StartArchiver();
        var last = await scenario.InsertMoveAsync("on B, archived", cancellationToken);
        await scenario.WaitUntilCoveredAsync(await scenario.SourceNowAsync(cancellationToken), cancellationToken);

        var verify = await scenario.RunAsync("verify", "--target", PitrScenario.Target, "--wal", "--json");
        verify.ExitCode.ShouldBe(1, verify.ToString());
        verify.Json["gaps"]!.AsArray().ShouldHaveSingleItem()!["firstMissing"]!.GetValue<string>().ShouldBe(switchSegment);
        var hole = (await scenario.EvaluateHoleAlertAsync(cancellationToken)).ShouldNotBeNull();
        hole.IsOpen.ShouldBeTrue();
        hole.Opened.Summary.ShouldContain($"broken from WAL segment {switchSegment}");

        // What an operator does next: a base backup on B; moments from it on restore again.
        var baseBackup = await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        await scenario.WaitUntilCoveredAsync(baseBackup["recoveryPoint"]!.GetValue<DateTimeOffset>(), cancellationToken);
        var latest = await scenario.RunJsonAsync("restore", "--target", PitrScenario.Target, "--latest", "--data-dir", scenario.NewDataDirectory());
        latest["baseBackupId"]!.GetValue<string>().ShouldBe(baseBackup["backupId"]!.GetValue<string>());
        var restored = await scenario.OpenRestoredAsync(latest, cancellationToken);
        var ids = await PitrScenario.MoveIdsAsync(restored.ConnectionString("acme").ConnectionString, cancellationToken);
        ids.ShouldBe(await PitrScenario.MoveIdsAsync(scenario.AdminConnectionString, cancellationToken));
        ids.ShouldContain(last.Id);
    }

    /// <summary>Deletes the archived object of one WAL file; disposing the result puts it back (as storage versioning would).</summary>
    private static async Task<IAsyncDisposable> LoseAsync(PitrScenario scenario, string fileName, CancellationToken cancellationToken)
    {
        using var repository = await scenario.OpenRepositoryAsync(cancellationToken);
        using var key = WalKeys.Derive(repository.MasterKey, PitrScenario.Target);
        var wal = (await new WalArchive(repository.Store, PitrScenario.Target, key).FindAsync(fileName, cancellationToken)).ShouldNotBeNull();
        byte[] bytes;
        await using (var stored = await repository.Store.OpenReadAsync(wal.Key, cancellationToken))
        using (var copy = new MemoryStream())
        {
            await stored.CopyToAsync(copy, cancellationToken);
            bytes = copy.ToArray();
        }

        await repository.Store.DeleteAsync(wal.Key, cancellationToken);
        return new Restore(async () =>
        {
            using var again = await scenario.OpenRepositoryAsync(CancellationToken.None);
            using var content = new MemoryStream(bytes, writable: false);
            await again.Store.PutAsync(wal.Key, content, Repository.Storage.PutOptions.CreateOnly, CancellationToken.None);
        });
    }

    private sealed class Restore(Func<Task> action) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await action();
    }

    private static async Task<(System.Text.Json.Nodes.JsonObject Restore, IReadOnlyList<long> Ids)> RestoreToTimeAsync(
        PitrScenario scenario, DateTimeOffset moment, CancellationToken cancellationToken)
    {
        var restore = await scenario.RunJsonAsync("restore", "--target", PitrScenario.Target, "--to-time", PitrScenario.Iso(moment), "--data-dir", scenario.NewDataDirectory());
        var restored = await scenario.OpenRestoredAsync(restore, cancellationToken);
        return (restore, await PitrScenario.MoveIdsAsync(restored.ConnectionString("acme").ConnectionString, cancellationToken));
    }
}
