using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Backups;

/// <summary>
/// The filestore through the real CLI on each store: backup, an unchanged second backup that uploads nothing,
/// verify, and a restore into a new folder whose every file equals the source's.
/// </summary>
public abstract class FilestoreRoundTripTests(PostgresFixture postgres)
{
    private protected abstract Task<RepositorySetup> RepositoryAsync(string localPath, CancellationToken cancellationToken);

    [Fact]
    public async Task BackupTwiceThenRestore_SecondUploadsNothingAndEveryFileComesBack()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var scenario = await BackupScenario.CreateAsync(postgres, path => RepositoryAsync(path, cancellationToken), cancellationToken);
        await scenario.RunJsonAsync("repo", "init");
        var source = Directory.EnumerateFiles(scenario.SourceFilestore, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(scenario.SourceFilestore, f)).Order(StringComparer.Ordinal).ToList();
        source.Count.ShouldBeGreaterThanOrEqualTo(10);

        var first = await scenario.RunJsonAsync("backup", "--target", BackupScenario.Target);
        first["filestore"]!["files"]!.GetValue<long>().ShouldBe(source.Count);
        first["filestore"]!["filesRead"]!.GetValue<long>().ShouldBe(source.Count);
        first["filestore"]!["problems"]!.AsArray().ShouldBeEmpty();
        first["warnings"]!.AsArray().ShouldBeEmpty();
        var blobsPrefix = $"targets/{BackupScenario.Target}/blobs/";
        var blobs = await scenario.KeysAsync(blobsPrefix, cancellationToken);
        blobs.Count.ShouldBe(2 * first["filestore"]!["packsWritten"]!.GetValue<int>(), "one pack and its table of contents per pack");

        var second = await scenario.RunJsonAsync("backup", "--target", BackupScenario.Target);
        second["filestore"]!["files"]!.GetValue<long>().ShouldBe(source.Count);
        second["filestore"]!["filesRead"]!.GetValue<long>().ShouldBe(0);
        second["filestore"]!["packsWritten"]!.GetValue<int>().ShouldBe(0);
        second["filestore"]!["uploadedBytes"]!.GetValue<long>().ShouldBe(0);
        (await scenario.KeysAsync(blobsPrefix, cancellationToken)).ShouldBe(blobs, "nothing was written under blobs/");
        var backupId = second["backupId"]!.GetValue<string>();
        (await scenario.KeysAsync($"targets/{BackupScenario.Target}/backups/{backupId}/", cancellationToken)).Select(k => k.Split('/')[^1]).Order(StringComparer.Ordinal)
            .ShouldBe(["database.dump.zst.aesgcm", "evidence.json.zst.aesgcm", "filestore.index.zst.aesgcm", "manifest.json"]);

        var verify = await scenario.RunJsonAsync("verify", "--target", BackupScenario.Target, "--backup", backupId);
        verify["damaged"]!.GetValue<int>().ShouldBe(0);
        verify["objects"]!.AsArray().Count(o => o!["name"]!.GetValue<string>() == "filestore pack").ShouldBe(blobs.Count / 2);

        var into = Path.Combine(scenario.Folder, "restored-filestore");
        var restored = await scenario.RunJsonAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--filestore-into", into);
        restored["filestore"]!["files"]!.GetValue<long>().ShouldBe(source.Count);
        restored["filestore"]!["notRestored"]!.AsArray().ShouldBeEmpty();
        Directory.EnumerateFiles(into, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(into, f)).Order(StringComparer.Ordinal).ShouldBe(source);
        foreach (var name in source)
        {
            (await File.ReadAllBytesAsync(Path.Combine(into, name), cancellationToken))
                .ShouldBe(await File.ReadAllBytesAsync(Path.Combine(scenario.SourceFilestore, name), cancellationToken), name);
        }
    }
}

public sealed class LocalFilestoreRoundTripTests(PostgresFixture postgres) : FilestoreRoundTripTests(postgres)
{
    private protected override Task<RepositorySetup> RepositoryAsync(string localPath, CancellationToken cancellationToken) =>
        Task.FromResult(RepositorySetup.Local(localPath));
}

public sealed class S3FilestoreRoundTripTests(PostgresFixture postgres, S3rverFixture s3) : FilestoreRoundTripTests(postgres)
{
    private protected override Task<RepositorySetup> RepositoryAsync(string localPath, CancellationToken cancellationToken) =>
        RepositorySetup.S3Async(s3, cancellationToken);
}

public sealed class AzureFilestoreRoundTripTests(PostgresFixture postgres, AzuriteFixture azure) : FilestoreRoundTripTests(postgres)
{
    private protected override Task<RepositorySetup> RepositoryAsync(string localPath, CancellationToken cancellationToken) =>
        RepositorySetup.AzureAsync(azure, cancellationToken);
}
