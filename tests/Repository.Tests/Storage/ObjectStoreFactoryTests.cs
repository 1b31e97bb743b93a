using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Tests.Storage;

public sealed class ObjectStoreFactoryTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void Create_Local_IsAFolderStoreAtTheFullPath()
    {
        var store = ObjectStoreFactory.Create(Options(RepositoryKind.Local) with { Path = "data/repository" });

        store.ShouldBeOfType<LocalObjectStore>().Location.ShouldBe(Path.GetFullPath("data/repository"));
        store.Capabilities.ConditionalCreate.ShouldBeTrue();
    }

    [Fact]
    public void Create_S3OnAmazon_EnforcesCreateOnlyAndNamesBucketAndPrefix()
    {
        var options = Options(RepositoryKind.S3) with
        {
            S3 = new S3RepositoryOptions { Bucket = "backups", Prefix = "/fleet-a/", Region = "eu-west-1" },
        };

        using var store = ObjectStoreFactory.Create(options).ShouldBeOfType<S3ObjectStore>();

        store.Location.ShouldBe("s3://backups/fleet-a");
        store.Capabilities.ShouldBe(new StoreCapabilities(ConditionalCreate: true, MaxObjectSizeBytes: 5L << 40));
    }

    [Fact]
    public void Create_S3CompatibleEndpoint_CreateOnlyIsBestEffort()
    {
        var options = Options(RepositoryKind.S3) with
        {
            S3 = new S3RepositoryOptions { Bucket = "b", ServiceUrl = "http://127.0.0.1:4568", ForcePathStyle = true },
        };

        using var store = ObjectStoreFactory.Create(options).ShouldBeOfType<S3ObjectStore>();

        store.Capabilities.ConditionalCreate.ShouldBeFalse();
        ObjectStoreFactory.IsAmazonS3("https://s3.eu-west-1.amazonaws.com").ShouldBeTrue();
    }

    [Fact]
    public void Create_S3PartSizeBelowFloor_NamesTheSetting()
    {
        var options = Options(RepositoryKind.S3) with { S3 = new S3RepositoryOptions { Bucket = "b", Region = "us-east-1" } };

        Should.Throw<ArgumentException>(() => ObjectStoreFactory.Create(options, new ObjectStoreSettings { PartSizeBytes = 1024 }))
            .Message.ShouldContain("PartSizeBytes must be between 5242880");
    }

    [Theory]
    [InlineData(RepositoryKind.Local, "Path is required")]
    [InlineData(RepositoryKind.S3, "Bucket is required")]
    [InlineData(RepositoryKind.Azure, "Container is required")]
    public void Create_MissingRequiredSetting_NamesIt(RepositoryKind kind, string message) =>
        Should.Throw<ArgumentException>(() => ObjectStoreFactory.Create(Options(kind))).Message.ShouldContain(message);

    [Fact]
    public void Create_AzureWithNeitherConnectionStringNorServiceUri_SaysWhatIsNeeded()
    {
        var options = Options(RepositoryKind.Azure) with { Azure = new AzureRepositoryOptions { Container = "c" } };

        var message = Should.Throw<ArgumentException>(() => ObjectStoreFactory.Create(options)).Message;

        message.ShouldContain("BackupDr__Repository__Azure__ConnectionString");
        message.ShouldContain("https BackupDr:Repository:Azure:ServiceUri with an Azure identity");
    }

    [Fact]
    public void Create_AzureWithServiceUri_IsTheContainerUnderThatAccount()
    {
        // The default credential chain is built, not asked: no token is requested until the first operation.
        var options = Options(RepositoryKind.Azure) with
        {
            Azure = new AzureRepositoryOptions { Container = "odoo-backups", Prefix = "fleet", ServiceUri = "https://acct.blob.core.windows.net/" },
        };

        ObjectStoreFactory.Create(options).Location.ShouldBe("azure://acct/odoo-backups/fleet");
    }

    [Fact]
    public void Create_AzureMalformedConnectionString_DoesNotQuoteIt()
    {
        var options = Options(RepositoryKind.Azure) with
        {
            Azure = new AzureRepositoryOptions { Container = "c", ConnectionString = "AccountKey=secret-value;garbage" },
        };

        var error = Should.Throw<ArgumentException>(() => ObjectStoreFactory.Create(options));

        error.Message.ShouldContain("malformed");
        error.Message.ShouldNotContain("secret-value");
    }

    [Fact]
    public async Task FaultyObjectStore_InjectedError_IsThrownForThatOperationOnly()
    {
        var inner = new InMemoryObjectStore();
        var key = ObjectKey.Parse("a");
        await inner.PutAsync(key, new MemoryStream([1]), PutOptions.Default, Token);
        var faulty = new FaultyObjectStore(inner)
        {
            Inject = (operation, _) => operation == "get" ? new StorageException(inner.Location, key, "injected", isTransient: true) : null,
        };

        (await Should.ThrowAsync<StorageException>(() => faulty.OpenReadAsync(key, Token))).IsTransient.ShouldBeTrue();
        (await faulty.StatAsync(key, Token)).ShouldNotBeNull();
    }

    private static RepositoryOptions Options(RepositoryKind kind) =>
        new() { Kind = kind, S3 = new S3RepositoryOptions(), Azure = new AzureRepositoryOptions() };
}
