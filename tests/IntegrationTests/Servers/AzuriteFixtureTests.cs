using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs.Models;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Servers;

public sealed class AzuriteFixtureTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Upload_SmallBlob_RoundTripsOverBlobProtocol()
    {
        var ct = TestContext.Current.CancellationToken;
        var container = azurite.CreateClient().GetBlobContainerClient(await azurite.CreateContainerAsync(ct));
        var payload = RandomNumberGenerator.GetBytes(64 * 1024 + 7);
        var blob = container.GetBlobClient("drills/2026/object.bin");

        await blob.UploadAsync(new BinaryData(payload), ct);
        var download = await blob.DownloadContentAsync(ct);

        download.Value.Content.ToArray().ShouldBe(payload);
    }

    [Fact]
    public async Task Upload_IfNoneMatchOnExistingBlob_IsRejectedWith409()
    {
        var ct = TestContext.Current.CancellationToken;
        var container = azurite.CreateClient().GetBlobContainerClient(await azurite.CreateContainerAsync(ct));
        var blob = container.GetBlobClient("manifest.json");
        await blob.UploadAsync(new BinaryData("first"u8.ToArray()), ct);
        var onlyIfNew = new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } };

        var error = await Should.ThrowAsync<RequestFailedException>(
            () => blob.UploadAsync(new BinaryData("second"u8.ToArray()), onlyIfNew, ct));

        error.Status.ShouldBe(409);
        (await blob.DownloadContentAsync(ct)).Value.Content.ToString().ShouldBe("first");
    }
}
