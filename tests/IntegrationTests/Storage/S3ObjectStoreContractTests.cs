using System.Collections.Concurrent;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using BackupDr.Repository.Storage;
using BackupDr.Repository.Tests.Storage;
using BackupDr.TestSupport;
using AccessDeniedException = BackupDr.Repository.Storage.AccessDeniedException;

namespace BackupDr.IntegrationTests.Storage;

/// <summary>The object store contract against s3rver, plus S3-only checks (pending uploads, credentials, HEAD pre-check).</summary>
public sealed class S3ObjectStoreContractTests(S3rverFixture s3) : ObjectStoreContract
{
    private const string Prefix = "fleet-a/repo";

    private readonly Dictionary<IObjectStore, string> _buckets = [];
    private readonly Dictionary<IObjectStore, RecordingS3Client> _clients = [];

    /// <summary>5 MiB: the smallest part Amazon S3 accepts, which the store's settings enforce for S3.</summary>
    protected override long PartSizeBytes => 5 * 1024 * 1024;

    /// <summary>
    /// s3rver ignores If-None-Match, so two racing create-only writers both pass the HEAD pre-check and both
    /// succeed there. Amazon S3 enforces the header; on s3rver the guarantee is best effort.
    /// </summary>
    protected override bool EnforcesCreateOnlyAtomically => false;

    internal override async Task<IObjectStore> CreateStoreAsync(CancellationToken cancellationToken)
    {
        var bucket = await s3.CreateBucketAsync(cancellationToken);
        var client = new RecordingS3Client(S3rverFixture.AccessKey, S3ObjectStore.CreateConfig(s3.ServiceUrl.ToString(), S3rverFixture.Region, true));
        var store = new S3ObjectStore(client, bucket, Prefix, serverEnforcesIfNoneMatch: false, Settings);
        _buckets[store] = bucket;
        _clients[store] = client;
        return store;
    }

    /// <summary>
    /// Every multipart upload the store began was completed or aborted. s3rver implements neither
    /// ListMultipartUploads nor AbortMultipartUpload (it answers 501 and 405), so the check is on the requests sent;
    /// Amazon S3 discards an aborted upload's parts.
    /// </summary>
    internal override Task AssertNoPendingUploadsAsync(IObjectStore store)
    {
        var client = _clients[store];
        client.Initiated.Except(client.Completed).Except(client.Aborted).ShouldBeEmpty();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Put_Object_IsStoredUnderTheConfiguredPrefix()
    {
        var store = await NewStoreAsync();

        await store.PutAsync(ObjectKey.Parse("a/b.bin"), new MemoryStream([1, 2, 3]), PutOptions.Default, Token);

        store.Location.ShouldBe($"s3://{_buckets[store]}/{Prefix}");
        using var client = s3.CreateClient();
        var listing = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _buckets[store] }, Token);
        listing.S3Objects.ShouldHaveSingleItem().Key.ShouldBe($"{Prefix}/a/b.bin");
    }

    [Fact]
    public async Task Put_IfNotExistsAfterAnotherWriterCreatedTheKey_IsRefusedByTheHeadPreCheck()
    {
        // The s3rver guarantee: a key that exists before the upload starts is never replaced by a create-only Put.
        var store = await NewStoreAsync();
        using var client = s3.CreateClient();
        await client.PutObjectAsync(
            new PutObjectRequest
            {
                BucketName = _buckets[store],
                Key = $"{Prefix}/manifest.json",
                ContentBody = "other writer",
                UseChunkEncoding = false,
            },
            Token);

        await Should.ThrowAsync<ObjectAlreadyExistsException>(
            () => store.PutAsync(ObjectKey.Parse("manifest.json"), new MemoryStream([1]), PutOptions.CreateOnly, Token));

        await using var read = await store.OpenReadAsync(ObjectKey.Parse("manifest.json"), Token);
        (await TestSources.ReadAllAsync(read, Token)).ShouldBe("other writer"u8.ToArray());
    }

    [Fact]
    public async Task Put_FailedMultipart_SendsAbortForItsUpload()
    {
        var store = await NewStoreAsync();
        var source = new ScriptedSource(TestSources.Bytes(PartSizeBytes * 3))
        {
            BeforeRead = (delivered, _) => delivered > PartSizeBytes * 2 ? throw new IOException("source died") : ValueTask.CompletedTask,
        };

        await Should.ThrowAsync<IOException>(() => store.PutAsync(ObjectKey.Parse("x"), source, PutOptions.Default, Token));

        _clients[store].Initiated.ShouldHaveSingleItem();
        _clients[store].Aborted.ShouldBe(_clients[store].Initiated);
    }

    [Fact]
    public async Task Operations_UnknownAccessKey_ThrowAccessDeniedWithoutTheSecret()
    {
        // s3rver checks the access key id but not SigV4 signatures, so a wrong secret alone would pass here.
        var bucket = await s3.CreateBucketAsync(Token);
        var config = S3ObjectStore.CreateConfig(s3.ServiceUrl.ToString(), S3rverFixture.Region, forcePathStyle: true);
        using var store = new S3ObjectStore(
            new AmazonS3Client(new BasicAWSCredentials("UNKNOWNKEY", "not-the-secret-key"), config), bucket, Prefix, false, Settings);
        var key = ObjectKey.Parse("a/b");

        var put = await Should.ThrowAsync<AccessDeniedException>(
            () => store.PutAsync(key, new MemoryStream(TestSources.Bytes(100)), PutOptions.Default, Token));
        var putLarge = await Should.ThrowAsync<AccessDeniedException>(
            () => store.PutAsync(key, new ScriptedSource(TestSources.Bytes(PartSizeBytes * 2 + 1)), PutOptions.Default, Token));
        var stat = await Should.ThrowAsync<AccessDeniedException>(() => store.StatAsync(key, Token));
        var list = await Should.ThrowAsync<AccessDeniedException>(async () => await ListKeysAsync(store, ""));

        foreach (var error in new StorageException[] { put, putLarge, stat, list })
        {
            error.Message.ShouldContain($"s3://{bucket}");
            error.Message.ShouldNotContain("not-the-secret-key");
            error.Message.ShouldContain("access denied");
            error.IsTransient.ShouldBeFalse();
        }
    }

    [Fact]
    public async Task Put_ServerUnreachable_FailsTransientAfterRetries()
    {
        var config = S3ObjectStore.CreateConfig("http://127.0.0.1:9", S3rverFixture.Region, forcePathStyle: true);
        using var store = new S3ObjectStore(
            new AmazonS3Client(new BasicAWSCredentials(S3rverFixture.AccessKey, S3rverFixture.SecretKey), config),
            "bucket",
            "",
            serverEnforcesIfNoneMatch: false,
            new ObjectStoreSettings { MaxAttempts = 2, RetryBaseDelay = TimeSpan.Zero, RetryMaxDelay = TimeSpan.Zero });

        var error = await Should.ThrowAsync<StorageException>(
            () => store.PutAsync(ObjectKey.Parse("a"), new MemoryStream([1]), PutOptions.Default, Token));

        error.IsTransient.ShouldBeTrue();
    }

    private ObjectStoreSettings Settings => new() { PartSizeBytes = PartSizeBytes, MaxConcurrency = 3 };

    /// <summary>Records the multipart upload ids begun, completed and aborted through it.</summary>
    private sealed class RecordingS3Client(string accessKey, AmazonS3Config config)
        : AmazonS3Client(new BasicAWSCredentials(accessKey, S3rverFixture.SecretKey), config)
    {
        public ConcurrentBag<string> Initiated { get; } = [];

        public ConcurrentBag<string> Completed { get; } = [];

        public ConcurrentBag<string> Aborted { get; } = [];

        public override async Task<InitiateMultipartUploadResponse> InitiateMultipartUploadAsync(
            InitiateMultipartUploadRequest request, CancellationToken cancellationToken = default)
        {
            var response = await base.InitiateMultipartUploadAsync(request, cancellationToken);
            Initiated.Add(response.UploadId);
            return response;
        }

        public override async Task<CompleteMultipartUploadResponse> CompleteMultipartUploadAsync(
            CompleteMultipartUploadRequest request, CancellationToken cancellationToken = default)
        {
            var response = await base.CompleteMultipartUploadAsync(request, cancellationToken);
            Completed.Add(request.UploadId);
            return response;
        }

        public override Task<AbortMultipartUploadResponse> AbortMultipartUploadAsync(
            AbortMultipartUploadRequest request, CancellationToken cancellationToken = default)
        {
            Aborted.Add(request.UploadId);
            return base.AbortMultipartUploadAsync(request, cancellationToken);
        }
    }
}
