using System.Text.Json.Nodes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.Repository.Drills;
using BackupDr.TestSupport;
using Npgsql;

namespace BackupDr.IntegrationTests.Drills;

/// <summary>
/// Drills end to end on the demo Odoo database: a good backup passes, damage in the restored copy or an unbalanced
/// ledger fails it, an interrupted drill leaves nothing behind, and the sandbox is the only server a drill touches.
/// </summary>
public sealed class DrillTests(PostgresFixture postgres) : DrillScenarioTests(postgres)
{
    [Fact]
    public async Task Drill_GoodBackup_PassesWritesSealedRecordAndLeavesNothing()
    {
        var backupId = await Scenario.BackupAsync();

        var result = await Scenario.RunAsync("drill", "--target", BackupScenario.Target, "--json");

        result.ExitCode.ShouldBe(0, result.ToString());
        var record = result.Json;
        record["outcome"]!.GetValue<string>().ShouldBe("Passed");
        record["backupId"]!.GetValue<string>().ShouldBe(backupId);
        record["manifestSha256"]!.GetValue<string>().Length.ShouldBe(64);
        record["sandbox"]!["kind"]!.GetValue<string>().ShouldBe("local");
        record["sandbox"]!["serverVersion"]!.GetValue<string>().ShouldStartWith("15.");
        record["tools"]!["pgRestore"]!.GetValue<string>().ShouldContain("pg_restore (PostgreSQL) 15");
        var phases = record["phases"]!.AsArray().ToDictionary(p => p!["phase"]!.GetValue<string>(), p => p!["status"]!.GetValue<string>());
        phases.ShouldBe(new Dictionary<string, string>
        {
            ["Provision"] = "Completed", ["Download"] = "Completed", ["DatabaseRestore"] = "Completed",
            ["FilestoreRestore"] = "Completed", ["Neutralize"] = "Completed", ["Probes"] = "Completed",
        });
        var probes = record["probes"]!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>(), p => p!["status"]!.GetValue<string>());
        probes["fingerprints"].ShouldBe("Passed");
        probes["ledger"].ShouldBe("Passed");
        probes["neutralization"].ShouldBe("Passed");
        probes["recency"].ShouldBe("Passed");
        probes["attachments"].ShouldBe("Passed");
        record["rto"]!["achievedSeconds"]!.GetValue<double>().ShouldBeGreaterThan(0);
        record["rto"]!["met"]!.GetValue<bool>().ShouldBeTrue();
        record["rpo"]!["met"]!.GetValue<bool>().ShouldBeTrue();

        var listed = (await Scenario.RunJsonAsync("list"))["drills"]!.AsArray().ShouldHaveSingleItem()!;
        listed["drillId"]!.GetValue<string>().ShouldBe(record["drillId"]!.GetValue<string>());
        listed["outcome"]!.GetValue<string>().ShouldBe("Passed");
        listed["sealChecked"]!.GetValue<bool>().ShouldBeTrue();
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
        DrillHarness.ProcessesMentioning(Scenario.SandboxPath).ShouldBeEmpty();
        (await ScalarAsync<long>(Scenario.Source.ConnectionString, "SELECT count(*) FROM ir_cron WHERE active")).ShouldBeGreaterThan(1,
            "the source itself is never neutralized");
    }

    [Fact]
    public async Task Drill_RowAlteredInSandboxBeforeProbes_FailsFingerprints()
    {
        await Scenario.BackupAsync();
        var observer = new TestDrillObserver
        {
            OnDataRestored = (sandbox, database, ct) =>
                ExecuteAsync(sandbox.ConnectionString(database), "UPDATE res_partner SET name = name || ' (altered)' WHERE id = (SELECT max(id) FROM res_partner)", ct),
        };

        var record = await DrillHarness.RunAsync(Scenario, observer, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        var fingerprints = record.Probes.Single(p => p.Name == "fingerprints");
        fingerprints.Status.ShouldBe(ProbeStatus.Failed);
        fingerprints.Details.ShouldContain("table public.res_partner has the same row count but different content");
        record.Rto.AchievedSeconds.ShouldBeNull();
        record.Reasons.ShouldContain(r => r.StartsWith("critical probe fingerprints failed", StringComparison.Ordinal));
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_ProbesOfTableData_StartOnTheRowsAsRestoredBeforeNeutralization()
    {
        await Scenario.BackupAsync();
        long activeCronsWhenDataRestored = -1;
        var observer = new TestDrillObserver
        {
            OnDataRestored = async (sandbox, database, ct) =>
                activeCronsWhenDataRestored = await ScalarAsync<long>(sandbox.ConnectionString(database), "SELECT count(*) FROM ir_cron WHERE active"),
        };

        var record = await DrillHarness.RunAsync(Scenario, observer, Token);

        record.Outcome.ShouldBe(DrillOutcome.Passed, string.Join("; ", record.Reasons));
        activeCronsWhenDataRestored.ShouldBe(
            await ScalarAsync<long>(Scenario.Source.ConnectionString, "SELECT count(*) FROM ir_cron WHERE active"),
            "the probes of table data see the copy as restored, before neutralization turns the crons off");
        observer.Started.IndexOf(DrillPhase.Probes).ShouldBeLessThan(observer.Started.IndexOf(DrillPhase.Neutralize));
        record.Probes.Single(p => p.Name == "fingerprints").Details.ShouldNotContain("as restored");
    }

    [Fact]
    public async Task Drill_FilestoreStartsWithPgRestore_ProbesStartOncePgRestoreHasEnded()
    {
        await Scenario.BackupAsync();
        const string Constraints = "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'";
        long constraintsWhenDataRestored = -1;
        long restoreSessionsWhenDataRestored = -1;
        var observer = new TestDrillObserver
        {
            OnDataRestored = async (sandbox, database, ct) =>
            {
                constraintsWhenDataRestored = await ScalarAsync<long>(sandbox.ConnectionString(database), Constraints);
                restoreSessionsWhenDataRestored = await ScalarAsync<long>(sandbox.ConnectionString(database),
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_restore'");
            },
        };

        var record = await DrillHarness.RunAsync(Scenario, observer, Token);

        record.Outcome.ShouldBe(DrillOutcome.Passed, string.Join("; ", record.Reasons));
        var events = observer.Events;
        events.IndexOf("end DatabaseRestore").ShouldBeGreaterThan(-1, string.Join(", ", events));
        events.IndexOf("start FilestoreRestore").ShouldBeGreaterThan(events.IndexOf("start DatabaseRestore"),
            "the filestore starts once the dump is downloaded and pg_restore starts (on the cores it leaves idle): " + string.Join(", ", events));
        events.IndexOf("start Probes").ShouldBeGreaterThan(events.IndexOf("end DatabaseRestore"), string.Join(", ", events));
        restoreSessionsWhenDataRestored.ShouldBe(0, "pg_restore has ended before the probes of table data start");
        constraintsWhenDataRestored.ShouldBe(await ScalarAsync<long>(Scenario.Source.ConnectionString, Constraints),
            "every primary and foreign key is in place when the probes start");
    }

    [Fact]
    public async Task Drill_UnbalancedPostedMove_FailsLedgerButNotFingerprints()
    {
        await ExecuteAsync(Scenario.Source.ConnectionString, """
            UPDATE account_move_line SET debit = debit + 1
            WHERE id = (SELECT min(l.id) FROM account_move_line l JOIN account_move m ON m.id = l.move_id WHERE m.state = 'posted' AND l.debit > 0)
            """, Token);
        await Scenario.BackupAsync();

        var result = await Scenario.RunAsync("drill", "--target", BackupScenario.Target, "--json");

        result.ExitCode.ShouldBe(1, result.ToString());
        result.Json["outcome"]!.GetValue<string>().ShouldBe("Failed");
        var probes = result.Json["probes"]!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>(), p => p!.AsObject());
        probes["fingerprints"]["status"]!.GetValue<string>().ShouldBe("Passed");
        probes["ledger"]["status"]!.GetValue<string>().ShouldBe("Failed");
        probes["ledger"]["details"]!.GetValue<string>().ShouldContain("1 posted journal entries do not balance");
        result.Json["error"]!.GetValue<string>().ShouldContain("critical probe ledger failed");
    }

    [Fact]
    public async Task Drill_PostedEntryRemovedInSandbox_FailsLedgerTotals()
    {
        await Scenario.BackupAsync();
        var observer = new TestDrillObserver
        {
            OnDataRestored = (sandbox, database, ct) => ExecuteAsync(sandbox.ConnectionString(database), """
                DELETE FROM account_move_line WHERE move_id = (SELECT min(id) FROM account_move WHERE state = 'posted' AND company_id = 1)
                """, ct),
        };

        var record = await DrillHarness.RunAsync(Scenario, observer, Token);

        var ledger = record.Probes.Single(p => p.Name == "ledger");
        ledger.Status.ShouldBe(ProbeStatus.Failed);
        ledger.Details.ShouldStartWith("company 1 ledger debit ");
        ledger.Details.ShouldNotContain("do not balance", Case.Sensitive, "removing a whole balanced entry keeps the ledger balanced");
        record.Outcome.ShouldBe(DrillOutcome.Failed);
    }

    [Theory]
    [InlineData("during the database restore")]
    [InlineData("during the probes")]
    public async Task Drill_Cancelled_LeavesNoSandboxNoServerNoRecord(string when)
    {
        await Scenario.BackupAsync();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var observer = new TestDrillObserver
        {
            OnPhaseStarted = phase =>
            {
                if (phase == DrillPhase.DatabaseRestore && when == "during the database restore")
                {
                    cancel.Cancel();
                }
            },
            OnSandboxReady = async (_, _, _) =>
            {
                if (when == "during the probes")
                {
                    await cancel.CancelAsync();
                }
            },
        };

        await Should.ThrowAsync<OperationCanceledException>(() => DrillHarness.RunAsync(Scenario, observer, cancel.Token));

        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
        DrillHarness.ProcessesMentioning(Scenario.SandboxPath).ShouldBeEmpty();
        (await Scenario.RunJsonAsync("list"))["drills"]!.AsArray().ShouldBeEmpty();
        Directory.EnumerateDirectories(Path.GetTempPath(), "bdr-pg-*").Where(d => File.Exists(Path.Combine(d, ".s.PGSQL.lock"))
            && File.ReadAllText(Path.Combine(d, ".s.PGSQL.lock")).Contains(Scenario.SandboxPath, StringComparison.Ordinal)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Drill_Sample_DrillsAnOlderBackupWithoutJudgingItsAgeAgainstRpo()
    {
        var older = await Scenario.BackupAsync();
        await Scenario.BackupAsync();

        var result = await Scenario.RunAsync("drill", "--target", BackupScenario.Target, "--backup", "sample", "--json");

        result.ExitCode.ShouldBe(0, result.ToString());
        result.Json["backupId"]!.GetValue<string>().ShouldBe(older);
        result.Json["selection"]!.GetValue<string>().ShouldBe("sample");
        result.Json["selectionReason"]!.GetValue<string>().ShouldContain("never drilled");
        result.Json["rpo"]!["met"].ShouldBeNull();
        result.Json["rpo"]!["note"]!.GetValue<string>().ShouldContain("not the newest");
    }

    [Fact]
    public async Task Drill_CustomSqlProbes_PassAndFailAsConfigured()
    {
        Scenario.WriteConfig(RepositorySetup.Local(Scenario.LocalRepositoryPath).Section.Also("PassphraseFile", Path.Combine(Scenario.Folder, "passphrase")),
            Scenario.Source.ConnectionString,
            new JsonObject
            {
                ["RecencyWindow"] = "1.00:00:00",
                ["Probes"] = new JsonArray(
                    new JsonObject { ["Name"] = "two-companies", ["Query"] = "SELECT count(*) FROM res_company", ["Expected"] = "2" },
                    new JsonObject { ["Name"] = "many-partners", ["Query"] = "SELECT count(*) FROM res_partner", ["Min"] = 1000, ["Critical"] = false }),
            });
        await Scenario.BackupAsync();

        var result = await Scenario.RunAsync("drill", "--target", BackupScenario.Target, "--json");

        result.ExitCode.ShouldBe(1, result.ToString());
        result.Json["outcome"]!.GetValue<string>().ShouldBe("PartiallyFailed");
        var probes = result.Json["probes"]!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>(), p => p!.AsObject());
        probes["two-companies"]["status"]!.GetValue<string>().ShouldBe("Passed");
        probes["many-partners"]["status"]!.GetValue<string>().ShouldBe("Failed");
        probes["many-partners"]["details"]!.GetValue<string>().ShouldContain("outside [1000, +inf]");
        probes["recency"]["status"]!.GetValue<string>().ShouldBe("Failed", "the demo data was last written years before the backup");
        result.Json["rto"]!["met"]!.GetValue<bool>().ShouldBeTrue("every critical probe passed");
    }

    internal static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Token);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(Token))!;
    }
}
