using Azure.Core;
using Azure.Identity;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Tests.Storage;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Storage;

/// <summary>
/// The object store contract through an Azure identity (Repository:Azure:ServiceUri, no connection string): bearer
/// tokens over HTTPS against Azurite's OAuth check. Entra ID is out of reach here: the tokens come from
/// <see cref="TestIdentity"/>; the default credential chain itself is tested for what it does on a machine without
/// any Azure identity.
/// </summary>
public sealed class AzureIdentityObjectStoreContractTests(AzuriteIdentityFixture azurite) : ObjectStoreContract, IClassFixture<AzuriteIdentityFixture>
{
    private const string Prefix = "fleet-a/repo";

    private static readonly ObjectStoreSettings Settings = new() { PartSizeBytes = 1024 * 1024, MaxConcurrency = 3 };

    protected override long PartSizeBytes => 1024 * 1024;

    internal override async Task<IObjectStore> CreateStoreAsync(CancellationToken cancellationToken) =>
        CreateStore(await azurite.CreateContainerAsync(cancellationToken), () => azurite.Identity);

    [Fact]
    public async Task Put_WithServiceUriAndIdentity_AsksTheIdentityAndStoresUnderTheContainerAndPrefix()
    {
        var container = await azurite.CreateContainerAsync(Token);
        var before = azurite.Identity.Requests;
        var store = CreateStore(container, () => azurite.Identity);

        await store.PutAsync(ObjectKey.Parse("a/b.bin"), new MemoryStream([1, 2, 3]), PutOptions.Default, Token);

        store.Location.ShouldBe($"azure://{AzuriteFixture.AccountName}/{container}/{Prefix}");
        (await ListKeysAsync(store, "")).ShouldBe(["a/b.bin"]);
        azurite.Identity.Requests.ShouldBeGreaterThan(before);
    }

    [Fact]
    public async Task Operations_TokenForAnotherAudience_ThrowAccessDenied()
    {
        var store = CreateStore(await azurite.CreateContainerAsync(Token), () => new TestIdentity("https://vault.azure.net"));

        var error = await Should.ThrowAsync<AccessDeniedException>(
            () => store.PutAsync(ObjectKey.Parse("a/b"), new MemoryStream(TestSources.Bytes(100)), PutOptions.Default, Token));

        error.IsTransient.ShouldBeFalse();
        error.Message.ShouldContain($"azure://{AzuriteFixture.AccountName}/");
    }

    [Fact]
    public async Task Operations_NoAzureIdentityOnThisMachine_ThrowAccessDeniedSayingWhyNoTokenCame()
    {
        // The production path: the SDK's default credential chain. This machine has no workload identity, managed
        // identity, environment credentials or Azure CLI, so every link declines and no request reaches the server.
        var options = new RepositoryOptions
        {
            Kind = RepositoryKind.Azure,
            S3 = new S3RepositoryOptions(),
            Azure = new AzureRepositoryOptions { ServiceUri = azurite.ServiceUri.AbsoluteUri, Container = await azurite.CreateContainerAsync(Token), Prefix = Prefix },
        };
        var store = ObjectStoreFactory.Create(options, Settings);

        var error = await Should.ThrowAsync<AccessDeniedException>(() => store.StatAsync(ObjectKey.Parse("a/b"), Token));

        error.InnerException.ShouldBeAssignableTo<AuthenticationFailedException>();
        error.Message.ShouldContain("access denied (no token from the Azure identity: ");
        error.IsTransient.ShouldBeFalse();
    }

    [Theory]
    [InlineData("http://127.0.0.1:10000/devstoreaccount1")]
    [InlineData("")]
    public void Create_ServiceUriNotHttpsWithoutConnectionString_IsRefusedBeforeAnyRequest(string serviceUri)
    {
        var options = new AzureRepositoryOptions { ServiceUri = serviceUri, Container = "backups" };

        var error = Should.Throw<ArgumentException>(() => ObjectStoreFactory.CreateAzure(options, Settings, () => azurite.Identity, azurite.ClientOptions()));

        error.Message.ShouldContain("https BackupDr:Repository:Azure:ServiceUri");
    }

    private AzureBlobObjectStore CreateStore(string container, Func<TokenCredential> identity) =>
        ObjectStoreFactory.CreateAzure(
            new AzureRepositoryOptions { ServiceUri = azurite.ServiceUri.AbsoluteUri, Container = container, Prefix = Prefix },
            Settings, identity, azurite.ClientOptions());
}
