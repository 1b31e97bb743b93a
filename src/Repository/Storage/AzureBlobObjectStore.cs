using System.Runtime.CompilerServices;
using System.Text;
using Azure;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace BackupDr.Repository.Storage;

/// <summary>
/// Objects as block blobs in an Azure container under a prefix (Azure.Storage.Blobs). Parts are staged blocks
/// (Put Block) and the object appears only when the block list is committed (Put Block List); staged blocks of a
/// failed or cancelled upload are never committed, stay invisible, and the service discards them (after a week).
/// Block ids carry a per-upload GUID, so two uploads of the same key never mix blocks.
/// </summary>
/// <remarks>
/// IfNotExists: an existence check before the upload (saves sending gigabytes for nothing) plus
/// <c>If-None-Match: *</c> on Put Blob and Put Block List, which Azure and Azurite enforce atomically
/// (409 BlobAlreadyExists / 412 become <see cref="ObjectAlreadyExistsException"/>).
/// The SDK's own retries are off: <see cref="RetryPolicy"/> retries.
/// </remarks>
internal sealed class AzureBlobObjectStore : IObjectStore
{
    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly RetryPolicy _retry;
    private readonly MultipartPut _multipart;

    /// <param name="container">A client for the container, which must exist; configured per <see cref="CreateClientOptions"/>.</param>
    /// <param name="prefix">Blob name prefix ("" or segments without leading or trailing '/').</param>
    /// <param name="settings">Part size, concurrency and retry settings; validated against the block blob limits.</param>
    public AzureBlobObjectStore(BlobContainerClient container, string prefix, ObjectStoreSettings settings)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(settings);
        settings.EnsureValid(PartLimits.AzureBlockBlob);
        _container = container;
        _prefix = StorePrefix.Normalize(prefix);
        Location = $"azure://{container.AccountName}/{container.Name}/{_prefix}".TrimEnd('/');
        Capabilities = new StoreCapabilities(
            ConditionalCreate: true, PartSizing.MaxObjectSizeBytes(settings.PartSizeBytes, PartLimits.AzureBlockBlob));
        _retry = new RetryPolicy(settings);
        _multipart = new MultipartPut(settings, PartLimits.AzureBlockBlob, _retry, Location);
    }

    public StoreCapabilities Capabilities { get; }

    public string Location { get; }

    /// <summary>Client options for a repository: no SDK retries (<see cref="RetryPolicy"/> retries).</summary>
    public static BlobClientOptions CreateClientOptions()
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        return options;
    }

    public async Task<PutResult> PutAsync(ObjectKey key, Stream source, PutOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var blob = Blob(key);
        if (options.IfNotExists && await StatAsync(key, cancellationToken) is not null)
        {
            throw new ObjectAlreadyExistsException(Location, key);
        }

        return await _multipart.RunAsync(key, source, new Uploader(this, key, blob, options.IfNotExists), cancellationToken);
    }

    public async Task<Stream> OpenReadAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var blob = Blob(key);
        var response = await _retry.ExecuteAsync(
            "get", token => Call(key, false, () => blob.DownloadStreamingAsync(cancellationToken: token), token), cancellationToken);
        var result = response.Value;
        return new ResponseStream(result.Content, result, e => Translate(e, key, createOnly: false));
    }

    public async Task<ObjectInfo?> StatAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var blob = Blob(key);
        try
        {
            var properties = await _retry.ExecuteAsync(
                "head", token => Call(key, false, () => blob.GetPropertiesAsync(cancellationToken: token), token), cancellationToken);
            return new ObjectInfo(key, properties.Value.ContentLength, properties.Value.LastModified);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectKey.ValidatePrefix(prefix);
        var options = new GetBlobsOptions { Prefix = _prefix + prefix };
        string? continuation = null;
        do
        {
            var page = await _retry.ExecuteAsync(
                "list",
                token => Call(null, false, () => FirstPageAsync(options, continuation, token), token),
                cancellationToken);
            foreach (var item in page.Values)
            {
                // Blobs under the prefix that are not ours (another tool's names) are not listed.
                if (item.Name.StartsWith(_prefix, StringComparison.Ordinal) && ObjectKey.TryParse(item.Name[_prefix.Length..], out var key))
                {
                    yield return new ObjectInfo(
                        key, item.Properties.ContentLength ?? 0, item.Properties.LastModified ?? DateTimeOffset.MinValue);
                }
            }

            continuation = string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken;
        }
        while (continuation is not null);
    }

    public Task DeleteAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var blob = Blob(key);
        return _retry.ExecuteAsync(
            "delete",
            token => Call(
                key, false, () => blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: token), token),
            cancellationToken);
    }

    private async Task<Page<BlobItem>> FirstPageAsync(GetBlobsOptions options, string? continuation, CancellationToken cancellationToken)
    {
        await foreach (var page in _container.GetBlobsAsync(options, cancellationToken).AsPages(continuation))
        {
            return page;
        }

        throw new InvalidOperationException("the blob listing returned no page");
    }

    private BlockBlobClient Blob(ObjectKey key) =>
        key.Value.Length > 0
            ? _container.GetBlockBlobClient(_prefix + key.Value)
            : throw new ArgumentException("the default ObjectKey is not a key", nameof(key));

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
            case RequestFailedException failed:
                var status = failed.Status;
                var code = failed.ErrorCode ?? "";
                if (key is { } missing && status == 404 && code is "BlobNotFound" or "")
                {
                    return new ObjectNotFoundException(Location, missing, e);
                }

                if (status == 403 || code is "AuthorizationFailure" or "AuthenticationFailed" or "AuthorizationPermissionMismatch")
                {
                    return new AccessDeniedException(Location, key, $"{status} {code}", e);
                }

                if (createOnly && key is { } taken && (status is 409 or 412 || code is "BlobAlreadyExists" or "ConditionNotMet"))
                {
                    return new ObjectAlreadyExistsException(Location, taken, e);
                }

                // Status 0: no response at all (connection refused or reset).
                var transient = status is 0 or 408 or 429 or >= 500 || code is "ServerBusy" or "OperationTimedOut" or "InternalError";
                return new StorageException(Location, key, $"Azure error {status} {code}", transient, e);
            case AuthenticationFailedException identity:
                // No Azure identity answered (none configured, or the token request was refused): the first line names
                // what the credential chain tried; it holds no secret.
                return new AccessDeniedException(Location, key, $"no token from the Azure identity: {identity.Message.Split('\n')[0].Trim()}", e);
            case HttpRequestException or IOException or TimeoutException or OperationCanceledException:
                // OperationCanceledException here is a network timeout: the caller's token had not fired (see Call).
                return new StorageException(Location, key, $"network error: {e.Message}", isTransient: true, e);
            case AggregateException aggregate when aggregate.InnerExceptions.Count > 0:
                return Translate(aggregate.InnerExceptions[0], key, createOnly);
            default:
                return null;
        }
    }

    private static BlobRequestConditions? CreateOnlyConditions(bool createOnly) =>
        createOnly ? new BlobRequestConditions { IfNoneMatch = ETag.All } : null;

    private sealed class Uploader(AzureBlobObjectStore store, ObjectKey key, BlockBlobClient blob, bool createOnly) : IPartUploader
    {
        public Task PutWholeAsync(PartBuffer content, CancellationToken cancellationToken) =>
            store.Call(
                key,
                createOnly,
                async () =>
                {
                    using var body = content.OpenStream();
                    return await blob.UploadAsync(
                        body, new BlobUploadOptions { Conditions = CreateOnlyConditions(createOnly) }, cancellationToken);
                },
                cancellationToken);

        public Task<IPartUpload> BeginAsync(CancellationToken cancellationToken) =>
            Task.FromResult<IPartUpload>(new Upload(store, key, blob, createOnly, Guid.NewGuid()));
    }

    private sealed class Upload(AzureBlobObjectStore store, ObjectKey key, BlockBlobClient blob, bool createOnly, Guid uploadId)
        : IPartUpload
    {
        public Task UploadPartAsync(int partNumber, PartBuffer part, CancellationToken cancellationToken) =>
            store.Call(
                key,
                false,
                async () =>
                {
                    using var body = part.OpenStream();
                    return await blob.StageBlockAsync(BlockId(partNumber), body, cancellationToken: cancellationToken);
                },
                cancellationToken);

        public Task CompleteAsync(int partCount, CancellationToken cancellationToken) =>
            store.Call(
                key,
                createOnly,
                () => blob.CommitBlockListAsync(
                    Enumerable.Range(1, partCount).Select(BlockId),
                    new CommitBlockListOptions { Conditions = CreateOnlyConditions(createOnly) },
                    cancellationToken),
                cancellationToken);

        /// <summary>Nothing to do: uncommitted blocks are never visible and expire on their own.</summary>
        public Task AbortAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        /// <summary>Same length for every block of a blob, as the service requires.</summary>
        private string BlockId(int partNumber) =>
            Convert.ToBase64String(Encoding.ASCII.GetBytes($"{uploadId:N}-{partNumber:D6}"));
    }
}
