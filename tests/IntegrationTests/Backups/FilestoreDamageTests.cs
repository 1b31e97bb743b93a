using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Backups;

/// <summary>
/// Filestore damage through the real CLI on a local repository: damage at the source is recorded and warned about,
/// a damaged pack is found by verify and by restore, and prune keeps every pack a retained backup needs.
/// </summary>
public sealed class FilestoreDamageTests(PostgresFixture postgres) : IAsyncLifetime
{
    private BackupScenario _scenario = null!;

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        _scenario = await BackupScenario.CreateAsync(postgres, path => Task.FromResult(RepositorySetup.Local(path)), cancellationToken);
        await _scenario.RunJsonAsync("repo", "init");
    }

    public ValueTask DisposeAsync() => _scenario.DisposeAsync();

    private string BlobsFolder => Path.Combine(_scenario.LocalRepositoryPath, "targets", BackupScenario.Target, "blobs");

    private List<string> SourceFiles() =>
        [.. Directory.EnumerateFiles(_scenario.SourceFilestore, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_scenario.SourceFilestore, f)).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Backup_ChangedMissingAndCorruptedSourceFiles_AreRecordedAndWarned()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var files = SourceFiles();
        File.Delete(Path.Combine(_scenario.SourceFilestore, files[0]));
        await File.AppendAllTextAsync(Path.Combine(_scenario.SourceFilestore, files[1]), "appended", cancellationToken);
        var corrupted = Path.Combine(_scenario.SourceFilestore, files[2]);
        var bytes = await File.ReadAllBytesAsync(corrupted, cancellationToken);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(corrupted, bytes, cancellationToken);

        var backup = await _scenario.RunAsync("backup", "--target", BackupScenario.Target);

        backup.ExitCode.ShouldBe(0, "source damage is reported, and the rest is backed up");
        backup.Output.ShouldContain($"warning: filestore Missing {files[0]}");
        backup.Output.ShouldContain($"warning: filestore ContentMismatch {files[1]}");
        backup.Output.ShouldContain($"warning: filestore ContentMismatch {files[2]}");
        var listed = (await _scenario.RunJsonAsync("list"))["backups"]!.AsArray().ShouldHaveSingleItem()!;
        listed["warnings"]!.GetValue<int>().ShouldBe(2);
        listed["filestoreFiles"]!.GetValue<long>().ShouldBe(files.Count - 3);
        var manifestPath = Directory.EnumerateFiles(_scenario.LocalRepositoryPath, "manifest.json", SearchOption.AllDirectories).Single();
        var manifest = await File.ReadAllTextAsync(manifestPath, cancellationToken);
        manifest.ShouldContain("\"missing\": 1");
        manifest.ShouldContain("\"contentMismatch\": 2");
        manifest.ShouldNotContain(files[0][3..], customMessage: "the plaintext manifest does not reveal a file's SHA-1");
    }

    [Fact]
    public async Task VerifyAndRestore_CorruptedPack_AreDetectedAndNameTheFiles()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var backupId = await _scenario.BackupAsync();
        var pack = Directory.EnumerateFiles(BlobsFolder, "*.pack.aesgcm").First();
        var bytes = await File.ReadAllBytesAsync(pack, cancellationToken);
        bytes[bytes.Length / 3] ^= 0x20;
        await File.WriteAllBytesAsync(pack, bytes, cancellationToken);

        var verify = await _scenario.RunAsync("verify", "--target", BackupScenario.Target, "--backup", backupId, "--json");
        var into = Path.Combine(_scenario.Folder, "restored-filestore");
        var restore = await _scenario.RunAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--filestore-into", into, "--json");

        verify.ExitCode.ShouldBe(1, verify.ToString());
        var packKey = Path.GetRelativePath(_scenario.LocalRepositoryPath, pack);
        verify.Json["objects"]!.AsArray().Single(o => o!["key"]!.GetValue<string>() == packKey)!["ok"]!.GetValue<bool>().ShouldBeFalse();
        verify.Json["damagedFiles"]!.AsArray().ShouldNotBeEmpty();
        restore.ExitCode.ShouldBe(1, restore.ToString());
        var notRestored = restore.Json["filestore"]!["notRestored"]!.AsArray().Select(n => n!["name"]!.GetValue<string>()).ToList();
        notRestored.ShouldNotBeEmpty();
        notRestored.ShouldAllBe(n => !File.Exists(Path.Combine(into, n)), "a file that failed its check is never left under its name");
        restore.Json["error"]!.GetValue<string>().ShouldContain("the filestore is incomplete");
    }

    [Fact]
    public async Task Prune_KeepsEveryPackARetainedBackupNeedsAndRemovesOldOrphans()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await _scenario.BackupAsync();
        var retained = await _scenario.BackupAsync();
        var packs = Directory.EnumerateFiles(BlobsFolder).Order(StringComparer.Ordinal).ToList();

        // An orphan pack and its table of contents, as an interrupted backup a day ago would have left them.
        var orphanId = "20261101T000000000Z-0123456789abcdef";
        foreach (var suffix in new[] { ".pack.aesgcm", ".toc.zst.aesgcm" })
        {
            var orphan = Path.Combine(BlobsFolder, orphanId + suffix);
            File.Copy(packs.First(p => p.EndsWith(suffix, StringComparison.Ordinal)), orphan);
            File.SetLastWriteTimeUtc(orphan, DateTime.UnixEpoch.AddYears(56));
        }

        var dryRun = await _scenario.RunJsonAsync("prune");
        var target = dryRun["targets"]!.AsArray().ShouldHaveSingleItem()!;
        target["garbage"]!["units"]!.AsArray().Select(g => g!["id"]!.GetValue<string>()).ShouldBe([orphanId]);
        Directory.EnumerateFiles(BlobsFolder).Count().ShouldBe(packs.Count + 2, "a dry run deletes nothing");

        var applied = await _scenario.RunJsonAsync("prune", "--apply");

        applied["applied"]!.GetValue<bool>().ShouldBeTrue();
        applied["targets"]!.AsArray().ShouldHaveSingleItem()!["garbage"]!["units"]!.AsArray().ShouldHaveSingleItem();
        Directory.EnumerateFiles(BlobsFolder).Order(StringComparer.Ordinal).ShouldBe(packs);
        (await _scenario.RunJsonAsync("verify", "--target", BackupScenario.Target, "--backup", retained))["damaged"]!.GetValue<int>().ShouldBe(0);
        var into = Path.Combine(_scenario.Folder, "restored-filestore");
        (await _scenario.RunJsonAsync("restore", "--target", BackupScenario.Target, "--backup", retained, "--filestore-into", into))["filestore"]!["files"]!
            .GetValue<long>().ShouldBe(SourceFiles().Count);
    }

    [Fact]
    public async Task Restore_NonEmptyFilestoreFolderWithoutForce_RefusesBeforeRestoringAnything()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var backupId = await _scenario.BackupAsync();
        var into = Path.Combine(_scenario.Folder, "busy-filestore");
        Directory.CreateDirectory(into);
        await File.WriteAllTextAsync(Path.Combine(into, "keep.txt"), "someone else's file", cancellationToken);
        var database = _scenario.NewDatabase();

        var refused = await _scenario.RunAsync("restore", "--target", BackupScenario.Target, "--backup", backupId, "--into", database, "--filestore-into", into);

        refused.ExitCode.ShouldBe(2, refused.ToString());
        refused.Error.ShouldContain("is not empty");
        (await _scenario.DatabaseExistsAsync(database, cancellationToken)).ShouldBeFalse("the refusal comes before the database is restored");
        Directory.EnumerateFileSystemEntries(into).ShouldHaveSingleItem();
    }
}
