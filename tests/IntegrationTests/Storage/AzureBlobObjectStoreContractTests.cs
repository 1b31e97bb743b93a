using Azure.Storage.Blobs;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Tests.Storage;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Storage;

/// <summary>The object store contract against Azurite, plus Azure-only checks (factory, credentials).</summary>
public sealed class AzureBlobObjectStoreContractTests(AzuriteFixture azurite) : ObjectStoreContract
{
    private const string Prefix = "fleet-a/repo";

    protected override long PartSizeBytes => 1024 * 1024;

    internal override async Task<IObjectStore> CreateStoreAsync(CancellationToken cancellationToken) =>
        CreateStore(await azurite.CreateContainerAsync(cancellationToken), azurite.ConnectionString);

    [Fact]
    public async Task Create_FromRepositoryOptions_StoresUnderThePrefix()
    {
        var container = await azurite.CreateContainerAsync(Token);
        var options = new RepositoryOptions
        {
            Kind = RepositoryKind.Azure,
            S3 = new S3RepositoryOptions(),
            Azure = new AzureRepositoryOptions { Container = container, Prefix = Prefix, ConnectionString = azurite.ConnectionString },
        };
        var store = ObjectStoreFactory.Create(options);

        await store.PutAsync(ObjectKey.Parse("a/b.bin"), new MemoryStream([1, 2, 3]), PutOptions.Default, Token);

        store.Location.ShouldBe($"azure://{AzuriteFixture.AccountName}/{container}/{Prefix}");
        var names = new List<string>();
        await foreach (var blob in azurite.CreateClient().GetBlobContainerClient(container).GetBlobsAsync(cancellationToken: Token))
        {
            names.Add(blob.Name);
        }

        names.ShouldBe([$"{Prefix}/a/b.bin"]);
    }

    [Fact]
    public async Task Operations_WrongAccountKey_ThrowAccessDeniedWithoutTheKey()
    {
        var container = await azurite.CreateContainerAsync(Token);
        var wrongKey = Convert.ToBase64String(TestSources.Bytes(64, seed: 9));
        var store = CreateStore(container, azurite.ConnectionString.Replace(AzuriteFixture.AccountKey, wrongKey, StringComparison.Ordinal));
        var key = ObjectKey.Parse("a/b");

        var put = await Should.ThrowAsync<AccessDeniedException>(
            () => store.PutAsync(key, new MemoryStream(TestSources.Bytes(100)), PutOptions.Default, Token));
        var putLarge = await Should.ThrowAsync<AccessDeniedException>(
            () => store.PutAsync(key, new ScriptedSource(TestSources.Bytes(PartSizeBytes * 2 + 1)), PutOptions.Default, Token));
        var stat = await Should.ThrowAsync<AccessDeniedException>(() => store.StatAsync(key, Token));
        var list = await Should.ThrowAsync<AccessDeniedException>(async () => await ListKeysAsync(store, ""));

        foreach (var error in new StorageException[] { put, putLarge, stat, list })
        {
            error.Message.ShouldContain($"azure://{AzuriteFixture.AccountName}/{container}");
            error.Message.ShouldNotContain(wrongKey);
            error.IsTransient.ShouldBeFalse();
        }
    }

    [Fact]
    public async Task Put_CancelledMultipart_LeavesNoCommittedBlob()
    {
        // Staged blocks of the abandoned upload exist only as uncommitted blocks: no blob, nothing listed.
        var container = await azurite.CreateContainerAsync(Token);
        var store = CreateStore(container, azurite.ConnectionString);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var source = new ScriptedSource(TestSources.Bytes(PartSizeBytes * 4))
        {
            BeforeRead = (delivered, _) =>
            {
                if (delivered > PartSizeBytes * 3)
                {
                    cancel.Cancel();
                }

                return ValueTask.CompletedTask;
            },
        };

        await Should.ThrowAsync<OperationCanceledException>(() => store.PutAsync(ObjectKey.Parse("x"), source, PutOptions.Default, cancel.Token));

        var blob = azurite.CreateClient().GetBlobContainerClient(container).GetBlobClient($"{Prefix}/x");
        (await blob.ExistsAsync(Token)).Value.ShouldBeFalse();
    }

    private static AzureBlobObjectStore CreateStore(string container, string connectionString) =>
        new(
            new BlobContainerClient(connectionString, container, AzureBlobObjectStore.CreateClientOptions()),
            Prefix,
            new ObjectStoreSettings { PartSizeBytes = 1024 * 1024, MaxConcurrency = 3 });
}
