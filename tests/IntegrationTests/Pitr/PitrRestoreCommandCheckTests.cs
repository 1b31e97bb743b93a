using BackupDr.Repository.Postgres;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Pitr;

/// <summary>A restored server runs <c>backupdr wal-fetch</c> as its own OS user: what that user cannot reach is said before recovery starts.</summary>
public sealed class PitrRestoreCommandCheckTests
{
    [Fact]
    public async Task Restore_ServerUserCannotReadTheConfiguration_RefusedBeforeRecoveryNamingTheUserAndTheFix()
    {
        Assert.SkipUnless(ChildProcess.IsRoot, "the restored server runs as another OS user (postgres) only when backupdr runs as root");
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await PitrScenario.CreateAsync(cancellationToken);
        scenario.StartArchiver();
        await scenario.RunJsonAsync("pitr", "base-backup", "--target", PitrScenario.Target);
        await scenario.WaitUntilCoveredAsync(await scenario.SourceNowAsync(cancellationToken), cancellationToken);

        // The configuration an engineer keeps in root's private folder: backupdr reads it, the postgres user cannot.
        var privateFolder = Path.Combine(scenario.Folder, "root-only");
        Directory.CreateDirectory(privateFolder);
        File.SetUnixFileMode(privateFolder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var config = Path.Combine(privateFolder, "backupdr.json");
        File.Copy(scenario.ConfigPath, config);
        var dataDirectory = scenario.NewDataDirectory();

        var result = await CliHarness.RunAsync(scenario.Variables, TimeProvider.System,
            ["restore", "--target", PitrScenario.Target, "--latest", "--data-dir", dataDirectory, "--json", "--config", config]);

        result.ExitCode.ShouldBe(2, result.ToString());
        var error = result.Json["error"]!.GetValue<string>();
        error.ShouldContain("could not fetch WAL");
        error.ShouldContain("as OS user 'postgres'");
        error.ShouldContain("must be readable by it");
        Directory.Exists(dataDirectory).ShouldBeFalse("nothing half-restored is left behind");
    }
}
