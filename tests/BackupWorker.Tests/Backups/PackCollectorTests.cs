using BackupDr.Repository.Backups;
using BackupDr.Repository.Filestore;

namespace BackupDr.BackupWorker.Tests.Backups;

/// <summary>Garbage collection of packs and the lock that keeps it away from running backups.</summary>
public sealed class PackCollectorTests : IAsyncLifetime
{
    private static readonly TimeSpan Grace = TimeSpan.FromHours(6);
    private FilestoreHarness _harness = null!;

    public async ValueTask InitializeAsync() => _harness = await FilestoreHarness.CreateAsync(TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => _harness.DisposeAsync();

    private List<string> AddFiles(int count, int seed) =>
        Enumerable.Range(0, count).Select(i => _harness.AddFile(FilestoreHarness.RandomContent(200_000, seed + i))).ToList();

    [Fact]
    public async Task Collect_KeepsEveryPackARetainedBackupNeedsAndRemovesOldOrphans()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var first = AddFiles(12, 0);
        var (retained, _) = await _harness.BackupAsync(first, cancellationToken);

        // An interrupted backup's packs (no manifest), and the objects of a backup that never committed.
        _harness.Fault = (operation, key) => operation == "put" && key?.Name == "manifest.json" ? new IOException("injected") : null;
        await Should.ThrowAsync<IOException>(() => _harness.BackupAsync(AddFiles(6, 100), cancellationToken));
        _harness.Fault = null;
        var orphanPacks = _harness.BlobObjects().Count(k => k.EndsWith(FilestoreLayout.PackSuffix, StringComparison.Ordinal)) - retained.Filestore!.Packs;
        orphanPacks.ShouldBeGreaterThan(0);

        var young = await PackCollector.CollectAsync(_harness.Repository, FilestoreHarness.Target, Grace, apply: true, _harness.Time, cancellationToken);
        young.Garbage.ShouldBeEmpty("unreferenced packs younger than the grace period may belong to a running backup");
        young.YoungPacks.ShouldBe(orphanPacks);

        _harness.Time.Advance(Grace + TimeSpan.FromMinutes(1));
        var dryRun = await PackCollector.CollectAsync(_harness.Repository, FilestoreHarness.Target, Grace, apply: false, _harness.Time, cancellationToken);
        dryRun.Garbage.Count(g => g.What == "pack").ShouldBe(orphanPacks);
        dryRun.Garbage.Count(g => g.What == "uncommitted backup").ShouldBe(1);
        var before = _harness.Inner.Keys;

        var applied = await PackCollector.CollectAsync(_harness.Repository, FilestoreHarness.Target, Grace, apply: true, _harness.Time, cancellationToken);

        before.Count.ShouldBeGreaterThan(_harness.Inner.Keys.Count);
        applied.ReferencedPacks.ShouldBe(retained.Filestore.Packs);
        _harness.BlobObjects().Count.ShouldBe(retained.Filestore.Packs * 2, "each retained pack and its table of contents stay");
        _harness.Inner.Keys.ShouldNotContain(k => k.Contains("/locks/", StringComparison.Ordinal), "the prune lock is released");
        var restored = _harness.Root + "-restored";
        try
        {
            (await _harness.RestoreAsync(retained, restored, cancellationToken)).Complete.ShouldBeTrue();
        }
        finally
        {
            Directory.Delete(restored, recursive: true);
        }
    }

    [Fact]
    public async Task Collect_WhileABackupHoldsItsLock_RefusesAndDeletesNothing()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var running = await RepositoryLock.AcquireAsync(_harness.Store, FilestoreHarness.Target, LockKind.Backup, "20261123T120000000Z-aaaaaa", _harness.Time, cancellationToken);

        var refused = await Should.ThrowAsync<RepositoryLockedException>(() =>
            PackCollector.CollectAsync(_harness.Repository, FilestoreHarness.Target, Grace, apply: true, _harness.Time, cancellationToken));

        refused.Message.ShouldContain("backup-20261123T120000000Z-aaaaaa.json");
        _harness.Operations.ShouldNotContain(o => o.Operation == "delete" && o.Key!.Contains("/blobs/", StringComparison.Ordinal));
        _harness.Inner.Keys.Count(k => k.Contains("/locks/", StringComparison.Ordinal)).ShouldBe(1, "the refused prune removed its own lock");
    }

    [Fact]
    public async Task Backup_WhilePruneHoldsItsLock_IsRefused()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var prune = await RepositoryLock.AcquireAsync(_harness.Store, FilestoreHarness.Target, LockKind.Prune, "p1", _harness.Time, cancellationToken);

        await Should.ThrowAsync<RepositoryLockedException>(() => _harness.BackupAsync(AddFiles(1, 0), cancellationToken));
    }

    [Fact]
    public async Task Lock_NotRefreshedForLongerThanStaleAfter_IsIgnoredAndSweptByPrune()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var dead = await RepositoryLock.AcquireAsync(_harness.Store, FilestoreHarness.Target, LockKind.Backup, "dead", _harness.Time, cancellationToken);

        // The process died: its lock object stays and is never refreshed (the store's clock moves on without it).
        await dead.DisposeAsync();
        await _harness.Inner.PutAsync(dead.Key, new MemoryStream([1]), Repository.Storage.PutOptions.Default, cancellationToken);
        _harness.Time.Advance(RepositoryLock.StaleAfter + TimeSpan.FromMinutes(1));

        var plan = await PackCollector.CollectAsync(_harness.Repository, FilestoreHarness.Target, Grace, apply: true, _harness.Time, cancellationToken);

        plan.StaleLocks.ShouldBe([dead.Key]);
        _harness.Inner.Keys.ShouldNotContain(dead.Key.Value);
    }
}
