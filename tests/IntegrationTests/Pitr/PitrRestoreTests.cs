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
        replayed.ShouldBe(before[^1].Committed);
        replayed.ShouldBeLessThan(moment);
    }

    /// <summary>The source's own answer: the moves whose commit time lies before the moment.</summary>
    private static async Task<IReadOnlyList<long>> ExpectedIdsAsync(PitrScenario scenario, DateTimeOffset moment, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(scenario.AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT id FROM account_move WHERE pg_xact_commit_timestamp(xmin) < @moment ORDER BY id", connection);
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
