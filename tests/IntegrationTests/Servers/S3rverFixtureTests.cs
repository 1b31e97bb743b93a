using System.Security.Cryptography;
using Amazon.S3.Model;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Servers;

public sealed class S3rverFixtureTests(S3rverFixture s3)
{
    [Fact]
    public async Task PutObject_SmallObject_RoundTripsOverS3Protocol()
    {
        var ct = TestContext.Current.CancellationToken;
        var bucket = await s3.CreateBucketAsync(ct);
        var payload = RandomNumberGenerator.GetBytes(64 * 1024 + 7);
        using var client = s3.CreateClient();

        await client.PutObjectAsync(
            new PutObjectRequest
            {
                BucketName = bucket,
                Key = "drills/2026/object.bin",
                InputStream = new MemoryStream(payload),
                UseChunkEncoding = false,
            },
            ct);
        using var response = await client.GetObjectAsync(bucket, "drills/2026/object.bin", ct);
        using var copy = new MemoryStream();
        await response.ResponseStream.CopyToAsync(copy, ct);

        copy.ToArray().ShouldBe(payload);
        File.Exists(Path.Combine(s3.DataDirectory, bucket, "drills", "2026", "object.bin._S3rver_object")).ShouldBeTrue();
    }

    [Fact]
    public async Task CreateBucketAsync_CalledTwice_ReturnsDistinctEmptyBuckets()
    {
        var ct = TestContext.Current.CancellationToken;
        var first = await s3.CreateBucketAsync(ct);
        var second = await s3.CreateBucketAsync(ct);
        using var client = s3.CreateClient();

        var listing = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = second }, ct);

        second.ShouldNotBe(first);
        (listing.S3Objects ?? []).ShouldBeEmpty();
    }
}
