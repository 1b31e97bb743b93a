using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Storage;

public sealed class LocalObjectStoreContractTests : ObjectStoreContract
{
    private readonly List<string> _roots = [];

    protected override long PartSizeBytes => 256 * 1024;

    internal override Task<IObjectStore> CreateStoreAsync(CancellationToken cancellationToken)
    {
        var root = Path.Combine(Path.GetTempPath(), "backupdr-tests", $"local-store-{Guid.NewGuid():N}");
        _roots.Add(root);
        return Task.FromResult<IObjectStore>(new LocalObjectStore(root));
    }

    /// <summary>No temporary file is left behind anywhere under the root.</summary>
    internal override Task AssertNoPendingUploadsAsync(IObjectStore store)
    {
        if (Directory.Exists(store.Location))
        {
            Directory.EnumerateFiles(store.Location, "*", SearchOption.AllDirectories)
                .Where(path => Path.GetFileName(path).StartsWith(".~", StringComparison.Ordinal))
                .ShouldBeEmpty();
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task List_ForeignAndTemporaryFiles_AreNotListed()
    {
        var store = await NewStoreAsync();
        await store.PutAsync(ObjectKey.Parse("a/b"), new MemoryStream([1, 2, 3]), PutOptions.Default, Token);
        await File.WriteAllTextAsync(Path.Combine(store.Location, "a", ".~put-0123.tmp"), "half", Token);
        await File.WriteAllTextAsync(Path.Combine(store.Location, "a", "has space"), "foreign", Token);
        Directory.CreateDirectory(Path.Combine(store.Location, "empty", "folder"));

        (await ListKeysAsync(store, "")).ShouldBe(["a/b"]);
    }

    [Fact]
    public async Task Put_Object_WritesOnlyTheObjectFile()
    {
        var store = await NewStoreAsync();

        await store.PutAsync(ObjectKey.Parse("x/y.bin"), new ScriptedSource(TestSources.Bytes(1000)), PutOptions.CreateOnly, Token);

        Directory.EnumerateFiles(store.Location, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(store.Location, path))
            .ShouldBe([Path.Combine("x", "y.bin")]);
    }

    [Fact]
    public async Task Location_IsTheFullRootPath()
    {
        var store = await NewStoreAsync();

        Path.IsPathFullyQualified(store.Location).ShouldBeTrue();
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var root in _roots.Where(Directory.Exists))
        {
            Directory.Delete(root, recursive: true);
        }

        base.Dispose(disposing);
    }
}
