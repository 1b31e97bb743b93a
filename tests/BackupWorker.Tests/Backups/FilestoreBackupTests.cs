using BackupDr.Repository.Compression;
using BackupDr.Repository.Filestore;
using BackupDr.Repository.Storage;

namespace BackupDr.BackupWorker.Tests.Backups;

/// <summary>The filestore phase against an in-memory repository: dedup, packing, source damage, interrupted backups.</summary>
public sealed class FilestoreBackupTests : IAsyncLifetime
{
    private FilestoreHarness _harness = null!;

    public async ValueTask InitializeAsync() => _harness = await FilestoreHarness.CreateAsync(TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => _harness.DisposeAsync();

    /// <summary>40 small files (text and random), one large file (stored alone), one PNG-headed file.</summary>
    private List<string> AddMixedFiles()
    {
        var names = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            names.Add(_harness.AddFile(FilestoreHarness.TextContent(10_000 + (i * 3_000), i)));
            names.Add(_harness.AddFile(FilestoreHarness.RandomContent(30_000 + (i * 7_000), 100 + i)));
        }

        names.Add(_harness.AddFile(FilestoreHarness.RandomContent(600_000, 7)));
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, .. FilestoreHarness.TextContent(50_000, 99)];
        names.Add(_harness.AddFile(png));
        return names;
    }

    [Fact]
    public async Task Backup_ThenRestore_EveryFileComesBackInOdooLayout()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var names = AddMixedFiles();
        var (manifest, result) = await _harness.BackupAsync(names, cancellationToken);

        result.Index.Files.Count.ShouldBe(names.Count);
        result.Index.Problems.ShouldBeEmpty();
        manifest.Filestore!.FilesRead.ShouldBe(names.Count);
        var large = result.Index.Files.Single(f => f.SizeBytes == 600_000);
        result.Index.Files.Count(f => f.Pack == large.Pack).ShouldBe(1, "a file of at least a quarter of the pack target is stored alone");
        result.Index.Packs.Count.ShouldBeLessThan(names.Count / 4, "small files share packs");
        result.Index.Files.Where(f => f.SizeBytes < 40_000 && f.Length < f.SizeBytes / 2).ShouldNotBeEmpty("text is compressed");
        result.Index.Files.Where(f => f.Codec == "none").Count().ShouldBeGreaterThanOrEqualTo(21, "random and PNG content is stored as is");

        var restored = Path.Combine(_harness.Root + "-restored");
        try
        {
            var restore = await _harness.RestoreAsync(manifest, restored, cancellationToken);
            restore.Complete.ShouldBeTrue();
            restore.Files.ShouldBe(names.Count);
            foreach (var name in names)
            {
                (await File.ReadAllBytesAsync(Path.Combine(restored, name), cancellationToken))
                    .ShouldBe(await File.ReadAllBytesAsync(Path.Combine(_harness.Root, name), cancellationToken), name);
            }

            Directory.EnumerateFiles(restored, "*", SearchOption.AllDirectories).Count().ShouldBe(names.Count, "no temporary file is left");
        }
        finally
        {
            Directory.Delete(restored, recursive: true);
        }
    }

    [Fact]
    public async Task Backup_NothingChanged_ReadsAndUploadsNothingButTheIndex()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var names = AddMixedFiles();
        await _harness.BackupAsync(names, cancellationToken);
        var blobs = _harness.BlobObjects();
        _harness.Operations.Clear();

        var (manifest, result) = await _harness.BackupAsync(names, cancellationToken);

        manifest.Filestore!.FilesRead.ShouldBe(0);
        manifest.Filestore.PacksWritten.ShouldBe(0);
        result.Stats.TablesRead.ShouldBe(0, "the previous index names every pack");
        result.Index.Files.Count.ShouldBe(names.Count);
        _harness.BlobObjects().ShouldBe(blobs);
        var operations = _harness.Operations.ToList();
        operations.Where(o => o.Key?.Contains("/blobs/", StringComparison.Ordinal) == true).ShouldBeEmpty("no pack or table of contents is read or written");
        operations.Where(o => o.Operation == "put").Select(o => o.Key!.Split('/')[^1])
            .Order(StringComparer.Ordinal).ShouldBe(["backup-" + manifest.BackupId + ".json", "filestore.index.zst.aesgcm", "manifest.json"]);
    }

    [Fact]
    public async Task Backup_OnePercentNew_UploadsOnlyTheNewFilesInOnePack()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var names = AddMixedFiles();
        await _harness.BackupAsync(names, cancellationToken);
        var added = Enumerable.Range(0, 3).Select(i => _harness.AddFile(FilestoreHarness.TextContent(5_000, 1000 + i))).ToList();

        var (manifest, result) = await _harness.BackupAsync([.. names, .. added], cancellationToken);

        manifest.Filestore!.FilesRead.ShouldBe(3);
        manifest.Filestore.PacksWritten.ShouldBe(1);
        result.Index.Files.Count.ShouldBe(names.Count + 3);
    }

    [Fact]
    public async Task Backup_SourceDamage_IsRecordedAndTheRestIsBackedUp()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var names = AddMixedFiles();
        var missing = _harness.AddFile(FilestoreHarness.TextContent(1000, 500));
        File.Delete(Path.Combine(_harness.Root, missing));
        var altered = _harness.AddFile(FilestoreHarness.TextContent(2000, 501));
        await File.WriteAllTextAsync(Path.Combine(_harness.Root, altered), "tampered", cancellationToken);
        var alteredLarge = names.First(n => new FileInfo(Path.Combine(_harness.Root, n)).Length == 600_000);
        await using (var file = new FileStream(Path.Combine(_harness.Root, alteredLarge), FileMode.Open, FileAccess.Write))
        {
            file.Position = 300_000;
            file.WriteByte(0);
        }

        var unreferenced = _harness.AddFile(FilestoreHarness.TextContent(3000, 502));
        var referenced = names.Where(n => n != unreferenced).Append(missing).Append(altered).Append("not/a-sha1-name").ToList();

        var (manifest, result) = await _harness.BackupAsync(referenced, cancellationToken);

        result.Index.Problems.Select(p => (p.Name, p.Kind)).OrderBy(p => p.Name, StringComparer.Ordinal).ShouldBe(new[]
        {
            (missing, FileProblemKind.Missing),
            (altered, FileProblemKind.ContentMismatch),
            (alteredLarge, FileProblemKind.ContentMismatch),
            ("not/a-sha1-name", FileProblemKind.UnsupportedName),
        }.OrderBy(p => p.Item1, StringComparer.Ordinal));
        manifest.Filestore!.Missing.ShouldBe(1);
        manifest.Filestore.ContentMismatch.ShouldBe(2);
        manifest.Filestore.UnsupportedName.ShouldBe(1);
        manifest.Warnings.Count.ShouldBe(3);
        var missingSha1 = missing[3..];
        manifest.Warnings.ShouldAllBe(w => !w.Contains(missingSha1, StringComparison.Ordinal), "the plaintext manifest names no SHA-1");
        manifest.Filestore.UnreferencedFiles.ShouldBe(1);
        result.Index.Files.Select(f => f.Name).ShouldNotContain(unreferenced);
        result.Index.Files.Count.ShouldBe(names.Count - 1, "every intact referenced file is backed up");
    }

    [Fact]
    public async Task Backup_IncludeUnreferencedFiles_CopiesThem()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var referenced = _harness.AddFile(FilestoreHarness.TextContent(1000, 1));
        var unreferenced = _harness.AddFile(FilestoreHarness.TextContent(1000, 2));

        var (_, result) = await _harness.BackupAsync([referenced], cancellationToken, includeUnreferenced: true);

        result.Index.Files.Single(f => f.Name == unreferenced).Referenced.ShouldBeFalse();
        result.Index.Files.Single(f => f.Name == referenced).Referenced.ShouldBeTrue();
        result.Index.UnreferencedFiles.ShouldBe(1);
    }

    [Fact]
    public async Task Backup_InterruptedAfterSomePacks_NextBackupReusesTheCompletePacksOnly()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        _harness.Options = _harness.Options with { UploadParallelism = 1, ReadParallelism = 1 };
        var names = Enumerable.Range(0, 30).Select(i => _harness.AddFile(FilestoreHarness.RandomContent(150_000, i))).ToList();
        var packsConfirmed = 0;
        _harness.Fault = (operation, key) =>
        {
            if (operation == "put" && key?.Value.EndsWith(FilestoreLayout.TocSuffix, StringComparison.Ordinal) == true && ++packsConfirmed > 2)
            {
                // The third pack is stored, but the backup dies before its table of contents: a half-committed pack.
                return new IOException("injected: connection reset");
            }

            return null;
        };

        await Should.ThrowAsync<IOException>(() => _harness.BackupAsync(names, cancellationToken));
        _harness.Inner.Keys.ShouldNotContain(k => k.EndsWith("manifest.json", StringComparison.Ordinal));
        var tocs = _harness.BlobObjects().Count(k => k.EndsWith(FilestoreLayout.TocSuffix, StringComparison.Ordinal));
        var packs = _harness.BlobObjects().Count(k => k.EndsWith(FilestoreLayout.PackSuffix, StringComparison.Ordinal));
        tocs.ShouldBe(2);
        packs.ShouldBe(3);
        var confirmed = _harness.BlobObjects().Where(k => k.EndsWith(FilestoreLayout.TocSuffix, StringComparison.Ordinal))
            .Select(k => k.Replace(FilestoreLayout.TocSuffix, FilestoreLayout.PackSuffix, StringComparison.Ordinal)).ToList();
        var halfPack = _harness.BlobObjects().Single(k => k.EndsWith(FilestoreLayout.PackSuffix, StringComparison.Ordinal) && !confirmed.Contains(k));

        _harness.Fault = null;
        var (manifest, result) = await _harness.BackupAsync(names, cancellationToken);

        result.Stats.TablesRead.ShouldBe(2);
        var reused = result.Index.Files.Count(f => result.Index.Packs.Any(p => p.Id == f.Pack && confirmed.Contains(p.Key)));
        reused.ShouldBeGreaterThan(0, "the files of the two confirmed packs are not read again");
        manifest.Filestore!.FilesRead.ShouldBe(names.Count - reused);
        result.Index.Packs.Select(p => p.Key).ShouldNotContain(halfPack, "a pack without its table of contents is never reused");

        var restored = _harness.Root + "-restored";
        try
        {
            (await _harness.RestoreAsync(manifest, restored, cancellationToken)).Files.ShouldBe(names.Count);
        }
        finally
        {
            Directory.Delete(restored, recursive: true);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReadSmall_FileLargerOrSmallerThanPlanned_IsAContentMismatch(bool grew)
    {
        // The buffer holds the planned size only: one byte more must still be noticed.
        var cancellationToken = TestContext.Current.CancellationToken;
        var name = _harness.AddFile(FilestoreHarness.TextContent(4096, 77));
        using var keys = FilestoreKeys.Derive(_harness.Repository.MasterKey, "acme-prod");
        var planned = new SourceFile(name, name[3..], grew ? 4095 : 4097, Referenced: true);

        var error = await Should.ThrowAsync<SourceFileException>(() => BlobReader.ReadSmallAsync(_harness.Root, planned, keys, cancellationToken));

        error.Kind.ShouldBe(FileProblemKind.ContentMismatch);
        error.Message.ShouldContain("size changed");
    }

    [Fact]
    public async Task ReadSmall_ContentThatDoesNotShrink_IsStoredAsItIs()
    {
        // 200 random bytes show only about 7 bits per byte in so short a sample, so the entropy test lets zstd try;
        // zstd cannot make them smaller, and what it cannot make smaller is stored without it.
        var cancellationToken = TestContext.Current.CancellationToken;
        var content = FilestoreHarness.RandomContent(200, 5);
        BlobReader.ChooseCodec(content).ShouldBe(Codec.Zstd);

        var name = _harness.AddFile(content);
        using var keys = FilestoreKeys.Derive(_harness.Repository.MasterKey, "acme-prod");

        using var blob = await BlobReader.ReadSmallAsync(_harness.Root, new SourceFile(name, name[3..], content.Length, Referenced: true), keys, cancellationToken);

        blob.Codec.ShouldBe(Codec.None);
        blob.Stored.ToArray().ShouldBe(content);
    }

    [Fact]
    public async Task BlobIds_DoNotRevealTheSha1AndDifferPerTarget()
    {
        using var a = FilestoreKeys.Derive(_harness.Repository.MasterKey, "acme-prod");
        using var b = FilestoreKeys.Derive(_harness.Repository.MasterKey, "acme-staging");
        const string Sha1 = "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";

        a.BlobId(Sha1).ShouldNotContain(Sha1[..8]);
        a.BlobId(Sha1).ShouldBe(a.BlobId(Sha1));
        a.BlobId(Sha1).ShouldNotBe(b.BlobId(Sha1));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Restore_CorruptedPack_ReportsItsFilesAndRestoresTheOthers()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var names = AddMixedFiles();
        var (manifest, result) = await _harness.BackupAsync(names, cancellationToken);
        var victim = result.Index.Packs.First(p => result.Index.Files.Count(f => f.Pack == p.Id) > 1);
        await CorruptAsync(ObjectKey.Parse(victim.Key), cancellationToken);

        var restored = _harness.Root + "-restored";
        try
        {
            var restore = await _harness.RestoreAsync(manifest, restored, cancellationToken);

            restore.Complete.ShouldBeFalse();
            restore.Damaged.ShouldHaveSingleItem().Key.ShouldBe(victim.Key);
            restore.Problems.ShouldNotBeEmpty();
            restore.Problems.ShouldAllBe(p => p.Pack == victim.Id);
            restore.Files.ShouldBe(names.Count - restore.Problems.Count);
            foreach (var file in result.Index.Files.Where(f => f.Pack != victim.Id))
            {
                File.Exists(Path.Combine(restored, file.Name)).ShouldBeTrue($"{file.Name} is in an intact pack");
            }
        }
        finally
        {
            Directory.Delete(restored, recursive: true);
        }
    }

    /// <summary>Flips one byte in the middle of a stored object.</summary>
    private async Task CorruptAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        byte[] bytes;
        await using (var stream = await _harness.Inner.OpenReadAsync(key, cancellationToken))
        using (var copy = new MemoryStream())
        {
            await stream.CopyToAsync(copy, cancellationToken);
            bytes = copy.ToArray();
        }

        bytes[bytes.Length / 2] ^= 0x40;
        using var corrupted = new MemoryStream(bytes);
        await _harness.Inner.PutAsync(key, corrupted, PutOptions.Default, cancellationToken);
    }
}
