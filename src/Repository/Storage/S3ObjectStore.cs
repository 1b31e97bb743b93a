using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace BackupDr.Repository.Storage;

/// <summary>
/// Objects in an S3 bucket under a prefix (AWSSDK.S3). Multipart upload per <see cref="MultipartPut"/>; a failed or
/// cancelled one is aborted (AbortMultipartUpload), so no part stays billed or visible.
/// </summary>
/// <remarks>
/// IfNotExists: a HEAD before the upload (saves sending gigabytes that would be refused) plus <c>If-None-Match: *</c>
/// on PutObject and CompleteMultipartUpload, which Amazon S3 enforces atomically (412/409 become
/// <see cref="ObjectAlreadyExistsException"/>). S3-compatible servers may ignore the header (s3rver does): there only
/// the HEAD check holds, a best-effort guarantee that two simultaneous creators can both pass;
/// <see cref="StoreCapabilities.ConditionalCreate"/> says which case applies.
/// Requests set <c>UseChunkEncoding = false</c> and the client computes checksums only when required: s3rver stores
/// corrupted bytes otherwise, and Amazon S3 accepts both. The store owns and disposes the client.
/// </remarks>
internal sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly ObjectStoreSettings _settings;
    private readonly RetryPolicy _retry;
    private readonly MultipartPut _multipart;

    /// <param name="client">Configured per <see cref="CreateConfig"/>; disposed with the store.</param>
    /// <param name="bucket">The bucket, which must exist.</param>
    /// <param name="prefix">Key prefix inside the bucket ("" or segments without leading or trailing '/').</param>
    /// <param name="serverEnforcesIfNoneMatch">True for Amazon S3; false for S3-compatible servers not known to.</param>
    /// <param name="settings">Part size, concurrency and retry settings; validated against the S3 limits.</param>
    public S3ObjectStore(IAmazonS3 client, string bucket, string prefix, bool serverEnforcesIfNoneMatch, ObjectStoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket);
        ArgumentNullException.ThrowIfNull(settings);
        settings.EnsureValid(PartLimits.S3);
        _client = client;
        _bucket = bucket;
        _prefix = StorePrefix.Normalize(prefix);
        _settings = settings;
        Location = $"s3://{bucket}/{_prefix}".TrimEnd('/');
        Capabilities = new StoreCapabilities(
            serverEnforcesIfNoneMatch, PartSizing.MaxObjectSizeBytes(settings.PartSizeBytes, PartLimits.S3));
        _retry = new RetryPolicy(settings);
        _multipart = new MultipartPut(settings, PartLimits.S3, _retry, Location);
    }

    public StoreCapabilities Capabilities { get; }

    public string Location { get; }

    /// <summary>
    /// The client configuration for a repository: path-style when asked (or for a custom endpoint that needs it),
    /// checksums only when required, no SDK retries (<see cref="RetryPolicy"/> retries).
    /// </summary>
    public static AmazonS3Config CreateConfig(string serviceUrl, string region, bool forcePathStyle)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = forcePathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
        };
        if (serviceUrl.Length > 0)
        {
            config.ServiceURL = serviceUrl;
            if (region.Length > 0)
            {
                config.AuthenticationRegion = region;
            }
        }
        else if (region.Length > 0)
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        }

        return config;
    }

    public async Task<PutResult> PutAsync(ObjectKey key, Stream source, PutOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var name = ObjectName(key);
        if (options.IfNotExists && await StatAsync(key, cancellationToken) is not null)
        {
            throw new ObjectAlreadyExistsException(Location, key);
        }

        return await _multipart.RunAsync(key, source, new Uploader(this, key, name, options.IfNotExists), cancellationToken);
    }

    public async Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var name = ObjectName(key);
        var response = await _retry.ExecuteAsync(
            "get",
            token => Call(key, false, () => _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = name }, token), token),
            cancellationToken);
        return new ResponseStream(response.ResponseStream, response, e => Translate(e, key, createOnly: false));
    }

    public async Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var name = ObjectName(key);
        try
        {
            var metadata = await _retry.ExecuteAsync(
                "head",
                token => Call(
                    key, false, () => _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = name }, token), token),
                cancellationToken);
            return new ObjectInfo(key, metadata.ContentLength, LastModified(metadata.LastModified));
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectKey.ValidatePrefix(prefix);
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix + prefix };
        do
        {
            var page = await _retry.ExecuteAsync(
                "list", token => Call(null, false, () => _client.ListObjectsV2Async(request, token), token), cancellationToken);
            // Amazon S3 lists in UTF-8 binary order, which is ordinal for the key alphabet; s3rver lists in folder-tree
            // order, so each page is sorted (a no-op on Amazon S3). Objects under the prefix that are not ours (another
            // tool's keys) are not listed.
            var entries = new List<ObjectInfo>();
            foreach (var entry in page.S3Objects ?? [])
            {
                if (entry.Key.StartsWith(_prefix, StringComparison.Ordinal) && ObjectKey.TryParse(entry.Key[_prefix.Length..], out var key))
                {
                    entries.Add(new ObjectInfo(key, entry.Size ?? 0, LastModified(entry.LastModified)));
                }
            }

            entries.Sort((a, b) => a.Key.CompareTo(b.Key));
            foreach (var entry in entries)
            {
                yield return entry;
            }

            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
    }

    public Task DeleteAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var name = ObjectName(key);

        // Idempotent by S3's own semantics: deleting a missing key succeeds (204).
        return _retry.ExecuteAsync(
            "delete",
            token => Call(key, false, () => _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = name }, token), token),
            cancellationToken);
    }

    public void Dispose() => _client.Dispose();

    private static DateTimeOffset LastModified(DateTime? value) =>
        value is { } time ? new DateTimeOffset(time.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.MinValue;

    private string ObjectName(ObjectKey key) =>
        key.Value.Length > 0 ? _prefix + key.Value : throw new ArgumentException("the default ObjectKey is not a key", nameof(key));

    /// <summary>Runs one SDK request, translating its failure; the caller's cancellation escapes as is.</summary>
    private Task<T> Call<T>(ObjectKey? key, bool createOnly, Func<Task<T>> request, CancellationToken cancellationToken) =>
        SdkCall.RunAsync(request, e => Translate(e, key, createOnly), cancellationToken);

    /// <summary>The project exception for an SDK or network failure, or null for one that is not the store's.</summary>
    private StorageException? Translate(Exception e, ObjectKey? key, bool createOnly)
    {
        switch (e)
        {
            case StorageException:
                return null;
            case AmazonS3Exception s3:
                var status = (int)s3.StatusCode;
                var code = s3.ErrorCode ?? "";
                if (key is { } missing && (status == 404 && code is "NoSuchKey" or "NotFound" or ""))
                {
                    return new ObjectNotFoundException(Location, missing, e);
                }

                if (status == 403 || code is "AccessDenied" or "InvalidAccessKeyId" or "SignatureDoesNotMatch")
                {
                    return new AccessDeniedException(Location, key, $"{status} {code}", e);
                }

                if (createOnly && key is { } taken && (status == 412 || code == "PreconditionFailed" || status == 409))
                {
                    return new ObjectAlreadyExistsException(Location, taken, e);
                }

                var transient = status is 408 or 429 or >= 500 || code is "SlowDown" or "RequestTimeout" or "InternalError";
                return new StorageException(Location, key, $"S3 error {status} {code}: {s3.Message}", transient, e);
            case AmazonServiceException service:
                return new StorageException(
                    Location, key, $"S3 error {(int)service.StatusCode}: {service.Message}", (int)service.StatusCode is 0 or 408 or 429 or >= 500, e);
            case HttpRequestException or IOException or TimeoutException or OperationCanceledException:
                // OperationCanceledException here is an SDK timeout: the caller's token had not fired (see Call).
                return new StorageException(Location, key, $"network error: {e.Message}", isTransient: true, e);
            case AmazonClientException client:
                return new StorageException(Location, key, $"S3 client error: {client.Message}", isTransient: false, e);
            default:
                return null;
        }
    }

    private sealed class Uploader(S3ObjectStore store, ObjectKey key, string name, bool createOnly) : IPartUploader
    {
        public Task PutWholeAsync(PartBuffer content, CancellationToken cancellationToken) =>
            store.Call(
                key,
                createOnly,
                async () =>
                {
                    using var body = content.OpenStream();
                    return await store._client.PutObjectAsync(
                        new PutObjectRequest
                        {
                            BucketName = store._bucket,
                            Key = name,
                            InputStream = body,
                            AutoCloseStream = false,
                            UseChunkEncoding = false,
                            IfNoneMatch = createOnly ? "*" : null,
                        },
                        cancellationToken);
                },
                cancellationToken);

        public async Task<IPartUpload> BeginAsync(CancellationToken cancellationToken)
        {
            var response = await store.Call(
                key,
                false,
                () => store._client.InitiateMultipartUploadAsync(
                    new InitiateMultipartUploadRequest { BucketName = store._bucket, Key = name }, cancellationToken),
                cancellationToken);
            return new Upload(store, key, name, createOnly, response.UploadId);
        }
    }

    private sealed class Upload(S3ObjectStore store, ObjectKey key, string name, bool createOnly, string uploadId) : IPartUpload
    {
        private readonly ConcurrentDictionary<int, string> _etags = new();

        public async Task UploadPartAsync(int partNumber, PartBuffer part, CancellationToken cancellationToken)
        {
            var response = await store.Call(
                key,
                false,
                async () =>
                {
                    using var body = part.OpenStream();
                    return await store._client.UploadPartAsync(
                        new UploadPartRequest
                        {
                            BucketName = store._bucket,
                            Key = name,
                            UploadId = uploadId,
                            PartNumber = partNumber,
                            PartSize = part.Length,
                            InputStream = body,
                            UseChunkEncoding = false,
                        },
                        cancellationToken);
                },
                cancellationToken);
            _etags[partNumber] = response.ETag;
        }

        public Task CompleteAsync(int partCount, CancellationToken cancellationToken) =>
            store.Call(
                key,
                createOnly,
                () => store._client.CompleteMultipartUploadAsync(
                    new CompleteMultipartUploadRequest
                    {
                        BucketName = store._bucket,
                        Key = name,
                        UploadId = uploadId,
                        PartETags = [.. Enumerable.Range(1, partCount).Select(n => new PartETag(n, _etags[n]))],
                        IfNoneMatch = createOnly ? "*" : null,
                    },
                    cancellationToken),
                cancellationToken);

        public Task AbortAsync(CancellationToken cancellationToken) =>
            store._retry.ExecuteAsync(
                "abort multipart upload",
                token => store.Call(
                    key,
                    false,
                    () => store._client.AbortMultipartUploadAsync(
                        new AbortMultipartUploadRequest { BucketName = store._bucket, Key = name, UploadId = uploadId }, token),
                    token),
                cancellationToken);
    }
}
