using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Storage;

/// <summary>
/// The one contract every <see cref="IObjectStore"/> honours. Subclasses: local folder and in-memory
/// (Repository.Tests), S3 against s3rver and Azure against Azurite (IntegrationTests, which compile this file too).
/// Each test takes a fresh, empty store.
/// </summary>
public abstract class ObjectStoreContract : IDisposable
{
    private readonly List<IObjectStore> _stores = [];

    /// <summary>The part size the stores under test use (payload sizes are built around it).</summary>
    protected abstract long PartSizeBytes { get; }

    /// <summary>False only where the server ignores If-None-Match (s3rver): the race test is skipped there.</summary>
    protected virtual bool EnforcesCreateOnlyAtomically => true;

    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    internal async Task<IObjectStore> NewStoreAsync()
    {
        var store = await CreateStoreAsync(Token);
        _stores.Add(store);
        return store;
    }

    /// <summary>A new, empty store with <see cref="PartSizeBytes"/> parts and up to 3 parts in flight.</summary>
    internal abstract Task<IObjectStore> CreateStoreAsync(CancellationToken cancellationToken);

    /// <summary>Asserts that no upload is left half-done behind the store (S3: no pending multipart upload).</summary>
    internal virtual Task AssertNoPendingUploadsAsync(IObjectStore store) => Task.CompletedTask;

    [Fact]
    public async Task Put_EmptySource_StoresZeroBytes() => await AssertRoundTripAsync(0);

    [Fact]
    public async Task Put_ExactlyOnePart_RoundTrips() => await AssertRoundTripAsync(PartSizeBytes);

    [Fact]
    public async Task Put_OnePartPlusOneByte_RoundTrips() => await AssertRoundTripAsync(PartSizeBytes + 1);

    [Fact]
    public async Task Put_UnknownLengthOddChunks_RoundTrips() => await AssertRoundTripAsync(PartSizeBytes * 2 + 12_345);

    [Fact]
    public async Task Put_SeveralPartsConcurrently_RoundTrips() => await AssertRoundTripAsync(PartSizeBytes * 6 + 1);

    [Fact]
    public async Task Put_ExistingKey_ReplacesObject()
    {
        var store = await NewStoreAsync();
        var key = ObjectKey.Parse("targets/acme/manifest.json");
        await store.PutAsync(key, new MemoryStream(TestSources.Bytes(100, seed: 1)), PutOptions.Default, Token);
        var second = TestSources.Bytes(PartSizeBytes + 10, seed: 2);

        await store.PutAsync(key, new ScriptedSource(second), PutOptions.Default, Token);

        await using var read = await store.OpenReadAsync(key, Token);
        (await TestSources.ReadAllAsync(read, Token)).ShouldBe(second);
    }

    [Fact]
    public async Task Stat_MissingKey_ReturnsNull()
    {
        var store = await NewStoreAsync();

        (await store.StatAsync(ObjectKey.Parse("no/such/object"), Token)).ShouldBeNull();
    }

    [Fact]
    public async Task OpenRead_MissingKey_ThrowsObjectNotFoundNamingStoreAndKey()
    {
        var store = await NewStoreAsync();

        var error = await Should.ThrowAsync<ObjectNotFoundException>(() => store.OpenReadAsync(ObjectKey.Parse("no/such/object"), Token));

        error.Message.ShouldContain(store.Location);
        error.Message.ShouldContain("no/such/object");
        error.Key.ShouldBe(ObjectKey.Parse("no/such/object"));
        error.IsTransient.ShouldBeFalse();
    }

    [Fact]
    public async Task List_Prefix_ReturnsMatchingObjectsRecursivelyInOrdinalOrder()
    {
        var store = await NewStoreAsync();
        string[] keys = ["b", "a/c/d", "a.b", "ab", "a-x", "a/b", "a/c/e=1", "A", "a_z/q"];
        foreach (var key in keys)
        {
            await store.PutAsync(ObjectKey.Parse(key), new MemoryStream(TestSources.Bytes(key.Length)), PutOptions.Default, Token);
        }

        var all = await ListKeysAsync(store, "");
        var underA = await ListKeysAsync(store, "a");
        var underFolder = await ListKeysAsync(store, "a/");
        var partialSegment = await ListKeysAsync(store, "a/c/e");
        var none = await ListKeysAsync(store, "zzz");

        all.ShouldBe(keys.Order(StringComparer.Ordinal).ToArray());
        underA.ShouldBe(["a-x", "a.b", "a/b", "a/c/d", "a/c/e=1", "a_z/q", "ab"]);
        underFolder.ShouldBe(["a/b", "a/c/d", "a/c/e=1"]);
        partialSegment.ShouldBe(["a/c/e=1"]);
        none.ShouldBeEmpty();
        var info = await store.ListAsync("a/c/e", Token).SingleAsync(Token);
        info.SizeBytes.ShouldBe("a/c/e=1".Length);
    }

    [Fact]
    public async Task Delete_Twice_RemovesObjectAndIsIdempotent()
    {
        var store = await NewStoreAsync();
        var key = ObjectKey.Parse("targets/acme/blobs/ab12");
        await store.PutAsync(key, new MemoryStream(TestSources.Bytes(10)), PutOptions.Default, Token);

        await store.DeleteAsync(key, Token);
        await store.DeleteAsync(key, Token);
        await store.DeleteAsync(ObjectKey.Parse("never/existed"), Token);

        (await store.StatAsync(key, Token)).ShouldBeNull();
        (await ListKeysAsync(store, "")).ShouldBeEmpty();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Put_IfNotExistsOnExistingKey_ThrowsAlreadyExistsAndKeepsOriginal(bool multipart)
    {
        // Sequential conflict: refused by every store, s3rver included (the HEAD check before the upload).
        var store = await NewStoreAsync();
        var key = ObjectKey.Parse("targets/acme/backups/b1/manifest.json");
        var original = TestSources.Bytes(1000, seed: 7);
        await store.PutAsync(key, new MemoryStream(original), PutOptions.CreateOnly, Token);

        var error = await Should.ThrowAsync<ObjectAlreadyExistsException>(
            () => store.PutAsync(key, new ScriptedSource(TestSources.Bytes(multipart ? PartSizeBytes * 2 : 10, seed: 8)), PutOptions.CreateOnly, Token));

        error.Message.ShouldContain(key.Value);
        await using var read = await store.OpenReadAsync(key, Token);
        (await TestSources.ReadAllAsync(read, Token)).ShouldBe(original);
        await AssertNoPendingUploadsAsync(store);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Put_TwoCreateOnlyWritersRace_ExactlyOneWins(bool multipart)
    {
        // Both writers pass any pre-check before either sends a byte; only an atomic create refuses the second.
        Assert.SkipUnless(EnforcesCreateOnlyAtomically, "this server ignores If-None-Match: create-only is a best-effort HEAD check here");
        var store = await NewStoreAsync();
        var key = ObjectKey.Parse("targets/acme/backups/b2/manifest.json");
        var bothStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;
        ScriptedSource Source(int seed) => new(TestSources.Bytes(multipart ? PartSizeBytes * 2 + 5 : 100, seed))
        {
            BeforeRead = async (delivered, ct) =>
            {
                if (delivered == 0 && Interlocked.Increment(ref started) == 2)
                {
                    bothStarted.TrySetResult();
                }

                await bothStarted.Task.WaitAsync(ct);
            },
        };

        var outcomes = await Task.WhenAll(
            Outcome(store.PutAsync(key, Source(1), PutOptions.CreateOnly, Token)),
            Outcome(store.PutAsync(key, Source(2), PutOptions.CreateOnly, Token)));

        outcomes.Count(o => o is null).ShouldBe(1);
        outcomes.Single(o => o is not null).ShouldBeOfType<ObjectAlreadyExistsException>();
        await AssertNoPendingUploadsAsync(store);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Put_CancelledMidUpload_LeavesNothingVisible(bool replacing)
    {
        var store = await NewStoreAsync();
        var key = ObjectKey.Parse("targets/acme/backups/b3/database.dump");
        var previous = TestSources.Bytes(64, seed: 3);
        if (replacing)
        {
            await store.PutAsync(key, new MemoryStream(previous), PutOptions.Default, Token);
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var source = new ScriptedSource(TestSources.Bytes(PartSizeBytes * 4, seed: 4))
        {
            BeforeRead = (delivered, _) =>
            {
                if (delivered >= PartSizeBytes * 2 + 100)
                {
                    cancel.Cancel();
                }

                return ValueTask.CompletedTask;
            },
        };

        await Should.ThrowAsync<OperationCanceledException>(() => store.PutAsync(key, source, PutOptions.Default, cancel.Token));

        await AssertOnlyPreviousVisibleAsync(store, key, replacing ? previous : null);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(-1)]
    public async Task Put_SourceFailsMidway_RethrowsItAndLeavesNothingVisible(long failAfterBytes)
    {
        var store = await NewStoreAsync();
        var key = ObjectKey.Parse("targets/acme/backups/b4/database.dump");
        var failAt = failAfterBytes < 0 ? PartSizeBytes * 3 / 2 : failAfterBytes;
        var source = new ScriptedSource(TestSources.Bytes(PartSizeBytes * 4, seed: 5))
        {
            BeforeRead = (delivered, _) => delivered >= failAt ? throw new IOException("pg_dump died") : ValueTask.CompletedTask,
        };

        var error = await Should.ThrowAsync<IOException>(() => store.PutAsync(key, source, PutOptions.Default, Token));

        error.Message.ShouldBe("pg_dump died");
        await AssertOnlyPreviousVisibleAsync(store, key, previous: null);
    }

    [Fact]
    public async Task Put_FaultyStoreFailsAfterBytes_LeavesNothingVisible()
    {
        var store = await NewStoreAsync();
        var faulty = new FaultyObjectStore(store) { FailPutAfterBytes = PartSizeBytes + 3 };
        var key = ObjectKey.Parse("targets/acme/backups/b5/database.dump");

        await Should.ThrowAsync<IOException>(
            () => faulty.PutAsync(key, new ScriptedSource(TestSources.Bytes(PartSizeBytes * 3)), PutOptions.Default, Token));

        await AssertOnlyPreviousVisibleAsync(store, key, previous: null);
    }

    [Fact]
    public async Task List_UploadInProgress_IsNotListedUntilComplete()
    {
        var store = await NewStoreAsync();
        var key = ObjectKey.Parse("targets/acme/backups/b6/database.dump");
        var data = TestSources.Bytes(PartSizeBytes * 3 + 7, seed: 6);
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var source = new ScriptedSource(data)
        {
            BeforeRead = async (delivered, ct) =>
            {
                if (delivered >= PartSizeBytes * 2 + 1)
                {
                    paused.TrySetResult();
                    await resume.Task.WaitAsync(ct);
                }
            },
        };

        var put = store.PutAsync(key, source, PutOptions.Default, Token);
        await paused.Task.WaitAsync(Token);
        var listedDuring = await ListKeysAsync(store, "");
        var statDuring = await store.StatAsync(key, Token);
        resume.SetResult();
        var result = await put;

        listedDuring.ShouldBeEmpty();
        statDuring.ShouldBeNull();
        result.SizeBytes.ShouldBe(data.Length);
        (await ListKeysAsync(store, "")).ShouldBe([key.Value]);
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the stores the tests created; subclasses also remove what they created.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var store in _stores.OfType<IDisposable>())
            {
                store.Dispose();
            }
        }
    }

    internal static async Task<string[]> ListKeysAsync(IObjectStore store, string prefix) =>
        await store.ListAsync(prefix, Token).Select(info => info.Key.Value).ToArrayAsync(Token);

    private async Task AssertRoundTripAsync(long size)
    {
        var store = await NewStoreAsync();
        var data = TestSources.Bytes(size, seed: (int)(size % 1000));
        var key = ObjectKey.Parse("targets/acme-prod/backups/20260101T000000Z/database.dump.zst.aes");

        var result = await store.PutAsync(key, new ScriptedSource(data), PutOptions.Default, Token);

        result.ShouldBe(new PutResult(key, size, TestSources.Sha256Hex(data)));
        var stat = await store.StatAsync(key, Token);
        stat.ShouldNotBeNull().SizeBytes.ShouldBe(size);
        await using var read = await store.OpenReadAsync(key, Token);
        (await TestSources.ReadAllAsync(read, Token)).ShouldBe(data);
        (await ListKeysAsync(store, "targets/")).ShouldBe([key.Value]);
    }

    private async Task AssertOnlyPreviousVisibleAsync(IObjectStore store, ObjectKey key, byte[]? previous)
    {
        var stat = await store.StatAsync(key, Token);
        var listed = await ListKeysAsync(store, "");
        if (previous is null)
        {
            stat.ShouldBeNull();
            listed.ShouldBeEmpty();
        }
        else
        {
            stat.ShouldNotBeNull().SizeBytes.ShouldBe(previous.Length);
            listed.ShouldBe([key.Value]);
            await using var read = await store.OpenReadAsync(key, Token);
            (await TestSources.ReadAllAsync(read, Token)).ShouldBe(previous);
        }

        await AssertNoPendingUploadsAsync(store);
    }

    private static async Task<Exception?> Outcome(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (StorageException e)
        {
            return e;
        }
    }
}
