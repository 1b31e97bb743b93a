using Npgsql;

namespace BackupDr.IntegrationTests.Pitr;

/// <summary>Continuous archive, base backup and restore to a moment against a real PostgreSQL 15 primary.</summary>
public sealed class PitrRestoreTests
{
    [Fact]
    public async Task RestoreToTime_RowsCommittedBeforeTheMomentAndNoneAfter()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        scenario.StartArchiver();
        await scenario.InsertMoveAsync("before the base backup", cancellationToken);
        var baseBackup = await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        baseBackup["kind"]!.GetValue<string>().ShouldBe("pitr-base");

        var before = new List<(long Id, DateTimeOffset Committed)>();
        for (var i = 0; i < 40; i++)
        {
            before.Add(await scenario.InsertMoveAsync($"move {i}", cancellationToken));
            if (i == 20)
            {
                await scenario.SwitchWalAsync(cancellationToken);
            }
        }

        var moment = await scenario.SourceNowAsync(cancellationToken);
        var after = new List<(long Id, DateTimeOffset Committed)>();
        for (var i = 0; i < 20; i++)
        {
            after.Add(await scenario.InsertMoveAsync($"late move {i}", cancellationToken));
        }

        await scenario.WaitUntilCoveredAsync(await scenario.SourceNowAsync(cancellationToken), cancellationToken);
        var restore = await scenario.RunJsonAsync("restore", "--target", PitrScenario.Target, "--to-time", PitrScenario.Iso(moment), "--data-dir", scenario.NewDataDirectory());
        var restored = await scenario.OpenRestoredAsync(restore, cancellationToken);

        var expected = await ExpectedIdsAsync(scenario, moment, cancellationToken);
        expected.ShouldContain(before[^1].Id);
        expected.ShouldNotContain(after[0].Id);
        (await PitrScenario.MoveIdsAsync(restored.ConnectionString("acme").ConnectionString, cancellationToken)).ShouldBe(expected);
        restore["baseBackupId"]!.GetValue<string>().ShouldBe(baseBackup["backupId"]!.GetValue<string>());
        var replayed = restore["lastReplayedTransaction"]!.GetValue<DateTimeOffset>();
        replayed.ShouldBe(await scenario.LastCommitBeforeAsync(moment, cancellationToken));
        replayed.ShouldBeGreaterThanOrEqualTo(before[^1].Committed);
        replayed.ShouldBeLessThan(moment);
    }

    [Fact]
    public async Task Archiver_RestartedAfterWritesWhileDown_ArchiveHasNoGapAndLatestRestoreHasEveryRow()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        scenario.StartArchiver();
        await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        await scenario.InsertMoveAsync("while streaming", cancellationToken);
        await scenario.WaitUntilCoveredAsync(await scenario.SourceNowAsync(cancellationToken), cancellationToken);
        await scenario.StopArchiverAsync();

        // The worker is down: the slot keeps this WAL on the source, including whole segments switched meanwhile.
        var whileDown = await scenario.CurrentWalFileAsync(cancellationToken);
        for (var i = 0; i < 3; i++)
        {
            await scenario.InsertMoveAsync($"while down {i}", cancellationToken);
            await scenario.SwitchWalAsync(cancellationToken);
        }

        var last = await scenario.InsertMoveAsync("after the restart", cancellationToken);
        scenario.StartArchiver();
        await scenario.WaitUntilArchivedAsync(whileDown, cancellationToken);
        await scenario.WaitUntilCoveredAsync(await scenario.SourceNowAsync(cancellationToken), cancellationToken);

        var verify = await scenario.RunJsonAsync("verify", "--target", PitrScenario.Target, "--wal");
        verify["gaps"]!.AsArray().ShouldBeEmpty();
        verify["segmentsChecked"]!.GetValue<ulong>().ShouldBeGreaterThanOrEqualTo(4UL);

        var restore = await scenario.RunJsonAsync("restore", "--target", PitrScenario.Target, "--latest", "--data-dir", scenario.NewDataDirectory());
        var restored = await scenario.OpenRestoredAsync(restore, cancellationToken);
        var ids = await PitrScenario.MoveIdsAsync(restored.ConnectionString("acme").ConnectionString, cancellationToken);
        ids.ShouldBe(await PitrScenario.MoveIdsAsync(scenario.AdminConnectionString, cancellationToken));
        ids.ShouldContain(last.Id);
    }

    [Fact]
    public async Task MissingSegment_VerifyNamesTheGapAndRestoreAfterItIsRefused()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        scenario.StartArchiver();
        await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        var files = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await scenario.InsertMoveAsync($"move {i}", cancellationToken);
            files.Add(await scenario.CurrentWalFileAsync(cancellationToken));
            await scenario.SwitchWalAsync(cancellationToken);
        }

        await scenario.InsertMoveAsync("last", cancellationToken);
        var end = await scenario.SourceNowAsync(cancellationToken);
        await scenario.WaitUntilCoveredAsync(end, cancellationToken);
        (await scenario.RunJsonAsync("verify", "--target", PitrScenario.Target, "--wal"))["gaps"]!.AsArray().ShouldBeEmpty();
        (await scenario.EvaluateHoleAlertAsync(cancellationToken)).ShouldBeNull();

        var lost = files[1];
        Repository.Storage.ObjectKey lostKey;
        byte[] lostBytes;
        using (var repository = await scenario.OpenRepositoryAsync(cancellationToken))
        {
            var keys = new List<string>();
            await foreach (var entry in repository.Store.ListAsync($"targets/{PitrScenario.Target}/wal/", cancellationToken))
            {
                keys.Add(entry.Key.Value);
            }

            lostKey = Repository.Storage.ObjectKey.Parse(keys.Single(k => k.Contains("/" + lost + ".", StringComparison.Ordinal)));
            await using (var stored = await repository.Store.OpenReadAsync(lostKey, cancellationToken))
            using (var copy = new MemoryStream())
            {
                await stored.CopyToAsync(copy, cancellationToken);
                lostBytes = copy.ToArray();
            }

            await repository.Store.DeleteAsync(lostKey, cancellationToken);
        }

        var hole = (await scenario.EvaluateHoleAlertAsync(cancellationToken)).ShouldNotBeNull();
        hole.IsOpen.ShouldBeTrue();
        hole.Opened.Summary.ShouldContain($"broken from WAL segment {lost}");
        hole.Opened.FirstAction.ShouldContain("verify --target " + PitrScenario.Target + " --wal");

        var verify = await scenario.RunAsync("verify", "--target", PitrScenario.Target, "--wal", "--json");
        verify.ExitCode.ShouldBe(1, verify.ToString());
        verify.Json["error"]!.GetValue<string>().ShouldContain(lost);
        verify.Json["gaps"]!.AsArray().ShouldHaveSingleItem()!["firstMissing"]!.GetValue<string>().ShouldBe(lost);

        var restore = await scenario.RunAsync("restore", "--target", PitrScenario.Target, "--to-time", PitrScenario.Iso(end), "--data-dir", scenario.NewDataDirectory(), "--json");
        restore.ExitCode.ShouldBe(2, restore.ToString());
        restore.Json["error"]!.GetValue<string>().ShouldContain(lost);

        var drill = await scenario.RunAsync("drill", "--target", PitrScenario.Target, "--pitr", "--json");
        drill.ExitCode.ShouldBe(1, drill.ToString());
        drill.Json["outcome"]!.GetValue<string>().ShouldBe("Failed");
        drill.Json["error"]!.GetValue<string>().ShouldContain(lost);

        // The segment is back (e.g. from storage versioning): the next evaluation resolves the incident.
        using (var repository = await scenario.OpenRepositoryAsync(cancellationToken))
        {
            using var content = new MemoryStream(lostBytes, writable: false);
            await repository.Store.PutAsync(lostKey, content, Repository.Storage.PutOptions.CreateOnly, cancellationToken);
        }

        var resolved = (await scenario.EvaluateHoleAlertAsync(cancellationToken)).ShouldNotBeNull();
        resolved.IsOpen.ShouldBeFalse();
        resolved.Sequence.ShouldBe(hole.Sequence);
    }

    [Fact]
    public async Task Drill_PitrTarget_RestoresNowMinusFlushIntervalAndRecordsTheAchievedRpo()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        var (_, last) = await scenario.PrepareDrillAsync(10, cancellationToken);
        var drill = await scenario.RunAsync("drill", "--target", PitrScenario.Target, "--pitr", "--json");
        drill.ExitCode.ShouldBe(0, drill.ToString());
        var record = drill.Json;
        record["schemaVersion"]!.GetValue<int>().ShouldBe(2);
        record["selection"]!.GetValue<string>().ShouldBe("pitr");
        var pitr = record["pitr"]!.AsObject();
        pitr["choice"]!.GetValue<string>().ShouldBe("now-minus-flush-interval");
        var requested = pitr["requestedMoment"]!.GetValue<DateTimeOffset>();
        var replayed = pitr["lastReplayedTransaction"]!.GetValue<DateTimeOffset>();
        replayed.ShouldBe(await scenario.LastCommitBeforeAsync(requested, cancellationToken));
        replayed.ShouldBeGreaterThanOrEqualTo(last.Committed);
        record["rpo"]!["achievedSeconds"]!.GetValue<double>().ShouldBe(Math.Round((requested - replayed).TotalSeconds, 3), 0.002);
        record["probes"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "fingerprints")!["status"]!.GetValue<string>().ShouldBe("Skipped");
    }

    [Fact]
    public async Task RestoreToTime_OutsideTheArchivedRange_ErrorNamesTheRestorableRange()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        scenario.StartArchiver();
        var beforeBase = await scenario.SourceNowAsync(cancellationToken);
        var baseBackup = await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        await scenario.WaitUntilCoveredAsync(await scenario.SourceNowAsync(cancellationToken), cancellationToken);
        var status = await scenario.RunJsonAsync("pitr", "status", "--target", PitrScenario.Target);
        var from = status["restorableFrom"]!.GetValue<DateTimeOffset>();
        from.ShouldBe(baseBackup["recoveryPoint"]!.GetValue<DateTimeOffset>());

        foreach (var moment in new[] { beforeBase, (await scenario.SourceNowAsync(cancellationToken)).AddHours(1) })
        {
            var result = await scenario.RunAsync("restore", "--target", PitrScenario.Target, "--to-time", PitrScenario.Iso(moment), "--data-dir", scenario.NewDataDirectory(), "--json");
            result.ExitCode.ShouldBe(2, result.ToString());
            result.Json["error"]!.GetValue<string>().ShouldContain("outside what 'acme-prod' can be restored to: " + from.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture) + " .. ");
        }
    }

    /// <summary>The source's own answer: the moves whose commit time lies before the moment.</summary>
    private static async Task<IReadOnlyList<long>> ExpectedIdsAsync(PitrScenario scenario, DateTimeOffset moment, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(scenario.AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT id FROM pitr_move WHERE pg_xact_commit_timestamp(xmin) < @moment ORDER BY id", connection);
        command.Parameters.AddWithValue("moment", moment);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<long>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }
}
