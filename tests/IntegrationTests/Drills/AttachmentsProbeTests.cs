using BackupDr.DrillRunner.Probes;
using BackupDr.IntegrationTests.Backups;
using BackupDr.Repository.Drills;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Drills;

/// <summary>
/// The attachments probe against a filestore folder prepared by hand (the demo generator's, copied): whole, then
/// with a file missing, altered, or of the wrong length.
/// </summary>
public sealed class AttachmentsProbeTests(PostgresFixture postgres) : IAsyncLifetime
{
    private BackupScenario _scenario = null!;
    private string _filestore = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _scenario = await BackupScenario.CreateAsync(postgres, path => Task.FromResult(RepositorySetup.Local(path)), Token);
        _filestore = Path.Combine(_scenario.Folder, "restored-filestore");
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_scenario.Folder, "filestore"), "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(_filestore, Path.GetRelativePath(Path.Combine(_scenario.Folder, "filestore"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
    }

    public ValueTask DisposeAsync() => _scenario.DisposeAsync();

    private async Task<string> StoredFileAsync(int nth) =>
        await DrillTests.ScalarAsync<string>(_scenario.Source.ConnectionString,
            $"SELECT store_fname FROM (SELECT DISTINCT store_fname FROM ir_attachment WHERE store_fname IS NOT NULL ORDER BY 1) f OFFSET {nth} LIMIT 1");

    [Fact]
    public async Task Check_WholeFilestore_Passes()
    {
        var result = await AttachmentsProbe.CheckAsync(_scenario.Source.ConnectionString, _filestore, contentNamed: false, Token);

        result.Status.ShouldBe(ProbeStatus.Passed, result.Details);
        result.Details.ShouldContain("every file present with matching SHA-1 and size");
    }

    [Fact]
    public async Task Check_MissingFile_FailsNamingIt()
    {
        var name = await StoredFileAsync(0);
        File.Delete(Path.Combine(_filestore, name));

        var result = await AttachmentsProbe.CheckAsync(_scenario.Source.ConnectionString, _filestore, contentNamed: false, Token);

        result.Status.ShouldBe(ProbeStatus.Failed);
        result.Details.ShouldContain($"file {name} is missing");
    }

    [Fact]
    public async Task Check_CorruptedFile_FailsOnSha1()
    {
        var name = await StoredFileAsync(1);
        var path = Path.Combine(_filestore, name);
        var bytes = await File.ReadAllBytesAsync(path, Token);
        bytes[bytes.Length / 2] ^= 0x40;
        await File.WriteAllBytesAsync(path, bytes, Token);

        var result = await AttachmentsProbe.CheckAsync(_scenario.Source.ConnectionString, _filestore, contentNamed: false, Token);

        result.Status.ShouldBe(ProbeStatus.Failed);
        result.Details.ShouldContain($"file {name} has SHA-1");
        result.Details.ShouldContain("the row says " + name[3..]);
    }

    [Fact]
    public async Task Check_WrongSizeRecorded_Fails()
    {
        var name = await StoredFileAsync(2);
        await DrillTests.ExecuteAsync(_scenario.Source.ConnectionString, $"UPDATE ir_attachment SET file_size = file_size + 1 WHERE store_fname = '{name}'", Token);

        var result = await AttachmentsProbe.CheckAsync(_scenario.Source.ConnectionString, _filestore, contentNamed: false, Token);

        result.Status.ShouldBe(ProbeStatus.Failed);
        result.Details.ShouldContain($"file {name} has");
        result.Details.ShouldContain("bytes, the row says");
    }

    [Fact]
    public async Task Check_NameEscapingTheFolder_IsMissingNotRead()
    {
        await DrillTests.ExecuteAsync(_scenario.Source.ConnectionString,
            "UPDATE ir_attachment SET store_fname = '../../etc/passwd' WHERE id = (SELECT min(id) FROM ir_attachment WHERE store_fname IS NOT NULL)", Token);

        var result = await AttachmentsProbe.CheckAsync(_scenario.Source.ConnectionString, _filestore, contentNamed: false, Token);

        result.Status.ShouldBe(ProbeStatus.Failed);
        result.Details.ShouldContain("file ../../etc/passwd is missing");
    }

    [Fact]
    public async Task Check_ContentNamedFolder_StillFindsMissingFilesWrongSizesAndChecksumsOtherThanTheName()
    {
        // A folder the drill's restore wrote: names are trusted to be the content's SHA-1, files are not read again;
        // the rows are still checked against the names and the files' lengths.
        var missing = await StoredFileAsync(0);
        File.Delete(Path.Combine(_filestore, missing));
        var resized = await StoredFileAsync(1);
        await DrillTests.ExecuteAsync(_scenario.Source.ConnectionString, $"UPDATE ir_attachment SET file_size = file_size + 1 WHERE store_fname = '{resized}'", Token);
        var renamed = await StoredFileAsync(2);
        await DrillTests.ExecuteAsync(_scenario.Source.ConnectionString, $"UPDATE ir_attachment SET checksum = repeat('0', 40) WHERE store_fname = '{renamed}'", Token);

        var result = await AttachmentsProbe.CheckAsync(_scenario.Source.ConnectionString, _filestore, contentNamed: true, Token);

        result.Status.ShouldBe(ProbeStatus.Failed);
        result.Details.ShouldContain($"file {missing} is missing");
        result.Details.ShouldContain($"file {resized} has");
        result.Details.ShouldContain($"file {renamed} has SHA-1 {renamed[3..]}, the row says {new string('0', 40)}");
    }

    [Fact]
    public async Task Check_ContentNamedWholeFolder_Passes()
    {
        var result = await AttachmentsProbe.CheckAsync(_scenario.Source.ConnectionString, _filestore, contentNamed: true, Token);

        result.Status.ShouldBe(ProbeStatus.Passed, result.Details);
    }
}
