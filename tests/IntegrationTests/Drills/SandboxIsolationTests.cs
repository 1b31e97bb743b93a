using BackupDr.DrillRunner.Sandboxes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.OdooDemo;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Postgres;
using BackupDr.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace BackupDr.IntegrationTests.Drills;

/// <summary>
/// The sandbox is the only server a drill uses (the source may be down), its settings keep a copy from archiving or
/// replicating, and the janitor removes what a crashed process left while leaving live sandboxes alone.
/// </summary>
public sealed class SandboxIsolationTests(PostgresFixture postgres) : DrillScenarioTests(postgres)
{
    [Fact]
    public async Task Drill_SourceServerStopped_StillPasses()
    {
        // A source of its own, so that stopping it disturbs no other test.
        var root = Path.Combine(Scenario.SandboxPath, "..", "source-" + Guid.NewGuid().ToString("N")[..8]);
        await using var source = await PostgresCluster.CreateAsync(PostgresFixture.Major, root, new PostgresClusterOptions(), Token);
        await source.StartAsync(Token);
        await using (var admin = new NpgsqlConnection(source.ConnectionString().ConnectionString))
        {
            await admin.OpenAsync(Token);
            await using var create = new NpgsqlCommand("CREATE DATABASE odoo_src TEMPLATE template0 ENCODING 'UTF8'", admin);
            await create.ExecuteNonQueryAsync(Token);
        }

        var sourceConnection = source.ConnectionString("odoo_src").ConnectionString;
        await DemoDatabase.GenerateAsync(sourceConnection, Path.Combine(Scenario.Folder, "own-filestore"), 300, DemoDatabase.DefaultSeed, Token);
        Scenario.WriteConfig(RepositorySetup.Local(Scenario.LocalRepositoryPath).Section.Also("PassphraseFile", Path.Combine(Scenario.Folder, "passphrase")), sourceConnection);
        await Scenario.BackupAsync();
        NpgsqlConnection.ClearAllPools();
        await source.StopAsync(Token);

        var result = await Scenario.RunAsync("drill", "--target", BackupScenario.Target, "--json");

        result.ExitCode.ShouldBe(0, result.ToString());
        result.Json["outcome"]!.GetValue<string>().ShouldBe("Passed");
        (await source.IsRunningAsync(Token)).ShouldBeFalse();
    }

    [Fact]
    public async Task Provision_LocalSandbox_ListensOnLoopbackWithArchivingAndReplicationOff()
    {
        var provider = new LocalSandboxProvider(Scenario.SandboxPath, TimeProvider.System, NullLogger<LocalSandboxProvider>.Instance);
        await using var sandbox = await provider.ProvisionAsync(new SandboxRequest("20261123T120000000Z-abcdef", "acme-prod", PostgresFixture.Major), Token);
        await sandbox.StartAsync(Token);
        await using var connection = new NpgsqlConnection(sandbox.ConnectionString("postgres"));
        await connection.OpenAsync(Token);

        foreach (var (setting, expected) in new[]
        {
            ("listen_addresses", "127.0.0.1"), ("archive_mode", "off"), ("archive_command", "(disabled)"), ("restore_command", ""),
            ("max_wal_senders", "0"), ("max_replication_slots", "0"), ("wal_level", "minimal"), ("primary_conninfo", ""),
            ("data_checksums", "off"),
        })
        {
            await using var command = new NpgsqlCommand($"SELECT current_setting('{setting}')", connection);
            ((string)(await command.ExecuteScalarAsync(Token))!).ShouldBe(expected, setting);
        }

        await using (var socket = new NpgsqlCommand("SELECT current_setting('unix_socket_directories')", connection))
        {
            ((string)(await socket.ExecuteScalarAsync(Token))!).ShouldNotBeEmpty();
        }

        sandbox.ServerVersion.ShouldStartWith("15.");
        Directory.Exists(sandbox.StagingPath).ShouldBeTrue();
        File.GetUnixFileMode(sandbox.StagingPath).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public async Task Provision_MissingPostgresMajor_NamesThePackageAndLeavesNothing()
    {
        var provider = new LocalSandboxProvider(Scenario.SandboxPath, TimeProvider.System, NullLogger<LocalSandboxProvider>.Instance);

        var error = await Should.ThrowAsync<PostgresToolMissingException>(() => provider.ProvisionAsync(new SandboxRequest("20261123T120000000Z-abcdef", "acme-prod", 9), Token));

        error.Message.ShouldContain("postgresql-9");
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
    }

    [Fact]
    public async Task Sweep_SandboxOfDeadProcess_IsRemovedWithItsServerAndLiveOnesAreKept()
    {
        var provider = new LocalSandboxProvider(Scenario.SandboxPath, TimeProvider.System, NullLogger<LocalSandboxProvider>.Instance);
        var crashed = await provider.ProvisionAsync(new SandboxRequest("20261123T120000000Z-dead00", "acme-prod", PostgresFixture.Major), Token);
        await using var live = await provider.ProvisionAsync(new SandboxRequest("20261123T120000000Z-a11ve0", "acme-prod", PostgresFixture.Major), Token);
        await crashed.StartAsync(Token);
        await live.StartAsync(Token);
        var crashedFolder = Path.Combine(Scenario.SandboxPath, crashed.Id);
        // What a killed drill leaves: the server still running (pg_ctl detached it), the owner process gone.
        var owner = SandboxOwner.Read(crashedFolder)!;
        await (owner with { ProcessId = DeadProcessId() }).WriteAsync(crashedFolder, Token);
        DrillHarness.ProcessesMentioning(crashedFolder).ShouldNotBeEmpty();

        var report = await new SandboxJanitor(Scenario.SandboxPath, TimeProvider.System, NullLogger<SandboxJanitor>.Instance).SweepAsync(Token);

        report.Removed.ShouldBe([crashed.Id]);
        report.InUse.ShouldBe([live.Id]);
        report.Failed.ShouldBeEmpty();
        Directory.Exists(crashedFolder).ShouldBeFalse();
        DrillHarness.ProcessesMentioning(crashedFolder).ShouldBeEmpty();
        await using var connection = new NpgsqlConnection(live.ConnectionString("postgres"));
        await connection.OpenAsync(Token);
    }

    [Fact]
    public async Task Sweep_SandboxThatCannotBeRemoved_IsReportedStuckForItsTargetAndKept()
    {
        var provider = new LocalSandboxProvider(Scenario.SandboxPath, TimeProvider.System, NullLogger<LocalSandboxProvider>.Instance);
        var crashed = await provider.ProvisionAsync(new SandboxRequest("20261123T120000000Z-wedged", "acme-prod", PostgresFixture.Major), Token);
        var crashedFolder = Path.Combine(Scenario.SandboxPath, crashed.Id);
        var owner = SandboxOwner.Read(crashedFolder)!;
        await (owner with { ProcessId = DeadProcessId() }).WriteAsync(crashedFolder, Token);
        // A server whose state the janitor cannot read: it cannot know what to stop, so it must not delete the folder.
        Directory.CreateDirectory(Path.Combine(crashedFolder, "pg"));
        await File.WriteAllTextAsync(Path.Combine(crashedFolder, "pg", PostgresCluster.StateFileName), "{ not json", Token);

        var report = await new SandboxJanitor(Scenario.SandboxPath, TimeProvider.System, NullLogger<SandboxJanitor>.Instance).SweepAsync(Token);

        report.Removed.ShouldBeEmpty();
        report.Failed.ShouldHaveSingleItem().ShouldStartWith(crashed.Id);
        var stuck = report.Stuck.ShouldHaveSingleItem();
        stuck.SandboxId.ShouldBe(crashed.Id);
        stuck.Target.ShouldBe("acme-prod");
        stuck.Problem.ShouldContain(crashedFolder);
        Directory.Exists(crashedFolder).ShouldBeTrue();
        Directory.Delete(crashedFolder, recursive: true);
    }

    [Fact]
    public async Task Drill_CorruptBackup_IsRecordedAsFailedAndTearsDown()
    {
        var backupId = await Scenario.BackupAsync();
        var dump = Path.Combine(Scenario.LocalRepositoryPath, "targets", BackupScenario.Target, "backups", backupId, "database.dump.zst.aesgcm");
        var bytes = await File.ReadAllBytesAsync(dump, Token);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(dump, bytes, Token);

        var record = await DrillHarness.RunAsync(Scenario, observer: null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Error.ShouldNotBeNull().ShouldContain("database.dump.zst.aesgcm");
        record.Phases.Single(p => p.Status == PhaseStatus.Failed).Phase.ShouldBe(DrillPhase.Download);
        record.Rto.AchievedSeconds.ShouldBeNull();
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
        (await Scenario.RunJsonAsync("list"))["drills"]!.AsArray().ShouldHaveSingleItem()!["outcome"]!.GetValue<string>().ShouldBe("Failed");
    }

    [Fact]
    public async Task Drill_CorruptFilestoreIndex_FailsTheFilestorePhaseAndStopsOrFinishesTheRest()
    {
        var backupId = await Scenario.BackupAsync();
        var index = Directory.EnumerateFiles(Path.Combine(Scenario.LocalRepositoryPath, "targets", BackupScenario.Target, "backups", backupId), "filestore.index*").Single();
        var bytes = await File.ReadAllBytesAsync(index, Token);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(index, bytes, Token);

        var record = await DrillHarness.RunAsync(Scenario, observer: null, Token);

        record.Outcome.ShouldBe(DrillOutcome.Failed);
        record.Error.ShouldNotBeNull().ShouldContain(Path.GetFileName(index));
        record.Phases.Single(p => p.Status == PhaseStatus.Failed).Phase.ShouldBe(DrillPhase.FilestoreRestore);
        record.Phases.Where(p => p.Phase != DrillPhase.FilestoreRestore && p.Phase != DrillPhase.Provision)
            .ShouldAllBe(p => p.Status == PhaseStatus.Stopped || p.Status == PhaseStatus.Completed);
        DrillHarness.Leftovers(Scenario).ShouldBeEmpty();
        DrillHarness.ProcessesMentioning(Scenario.SandboxPath).ShouldBeEmpty();
    }

    /// <summary>The pid of a process that has exited (a finished child), so the owner check sees it gone.</summary>
    private static int DeadProcessId()
    {
        using var process = System.Diagnostics.Process.Start("true")!;
        process.WaitForExit();
        return process.Id;
    }
}
