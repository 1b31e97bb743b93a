namespace BackupDr.BackupWorker.Tests.Cli;

/// <summary>`repo init` and its `--if-missing` form, which the chart's init container runs before every start.</summary>
public sealed class RepoInitTests : IDisposable
{
    private readonly CliRunner _cli = new();
    private readonly string _repository = Path.Combine(Path.GetTempPath(), "backupdr-init-" + Guid.NewGuid().ToString("N"));
    private readonly string _config;

    public RepoInitTests()
    {
        _config = _cli.WriteConfig(CliRunner.ValidConfig.Replace("/tmp/backupdr-tests/repository", _repository, StringComparison.Ordinal));
        _cli.Variables["BackupDr__Repository__Passphrase"] = "a long enough passphrase";
    }

    public void Dispose()
    {
        _cli.Dispose();
        if (Directory.Exists(_repository))
        {
            Directory.Delete(_repository, recursive: true);
        }
    }

    [Fact]
    public async Task RepoInit_Existing_ExitsOneAndLeavesItUntouched()
    {
        (await _cli.RunAsync("repo", "init", "--config", _config)).ExitCode.ShouldBe(0);
        var before = await File.ReadAllTextAsync(Path.Combine(_repository, "repository.json"), TestContext.Current.CancellationToken);

        var result = await _cli.RunAsync("repo", "init", "--config", _config);

        result.ExitCode.ShouldBe(1, result.ToString());
        result.Error.ShouldContain("a repository already exists");
        (await File.ReadAllTextAsync(Path.Combine(_repository, "repository.json"), TestContext.Current.CancellationToken)).ShouldBe(before);
    }

    [Fact]
    public async Task RepoInitIfMissing_NoneThenExisting_CreatesOnceThenSucceedsWithTheSameId()
    {
        var created = await _cli.RunAsync("repo", "init", "--if-missing", "--json", "--config", _config);
        var before = await File.ReadAllTextAsync(Path.Combine(_repository, "repository.json"), TestContext.Current.CancellationToken);

        var again = await _cli.RunAsync("repo", "init", "--if-missing", "--json", "--config", _config);

        created.ExitCode.ShouldBe(0, created.ToString());
        again.ExitCode.ShouldBe(0, again.ToString());
        again.Json["existed"]!.GetValue<bool>().ShouldBeTrue();
        again.Json["repositoryId"]!.GetValue<string>().ShouldBe(created.Json["repositoryId"]!.GetValue<string>());
        (await File.ReadAllTextAsync(Path.Combine(_repository, "repository.json"), TestContext.Current.CancellationToken)).ShouldBe(before);
    }

    [Fact]
    public async Task RepoInitIfMissing_ExistingWithAnotherPassphrase_ExitsTwo()
    {
        (await _cli.RunAsync("repo", "init", "--config", _config)).ExitCode.ShouldBe(0);
        _cli.Variables["BackupDr__Repository__Passphrase"] = "another long passphrase";

        var result = await _cli.RunAsync("repo", "init", "--if-missing", "--config", _config);

        result.ExitCode.ShouldBe(2, result.ToString());
        result.All.ShouldNotContain("another long passphrase");
    }
}
