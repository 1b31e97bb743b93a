using Amazon.S3;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using BackupDr.Repository.Configuration;

namespace BackupDr.Repository.Storage;

/// <summary>Builds the store a repository configuration names. Configuration problems throw <see cref="ArgumentException"/>.</summary>
internal static class ObjectStoreFactory
{
    /// <summary>
    /// The store for <paramref name="options"/>. S3 credentials come from the AWS SDK's default chain (environment
    /// <c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c>, profile, pod or instance identity). Azure takes
    /// <see cref="AzureRepositoryOptions.ConnectionString"/> (env <c>BackupDr__Repository__Azure__ConnectionString</c>),
    /// or <see cref="AzureRepositoryOptions.ServiceUri"/> with the Azure SDK's default credential chain (workload
    /// identity, managed identity, <c>AZURE_CLIENT_ID</c>/<c>AZURE_TENANT_ID</c>/<c>AZURE_CLIENT_SECRET</c>; a
    /// user-assigned managed identity is chosen with <c>AZURE_CLIENT_ID</c>). An S3 store is <see cref="IDisposable"/> (it owns an
    /// HTTP client); dispose it when the process keeps running after the store's last use.
    /// </summary>
    public static IObjectStore Create(RepositoryOptions options, ObjectStoreSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        settings ??= ObjectStoreSettings.Default;
        return options.Kind switch
        {
            RepositoryKind.Local => CreateLocal(options),
            RepositoryKind.S3 => CreateS3(options.S3, settings),
            RepositoryKind.Azure => CreateAzure(options.Azure, settings),
            _ => throw new ArgumentException($"unknown repository kind '{options.Kind}'", nameof(options)),
        };
    }

    /// <summary>True when the endpoint is Amazon S3 itself, which enforces If-None-Match; other S3 servers may not.</summary>
    public static bool IsAmazonS3(string serviceUrl) =>
        serviceUrl.Length == 0
        || (Uri.TryCreate(serviceUrl, UriKind.Absolute, out var uri)
            && uri.Host.EndsWith(".amazonaws.com", StringComparison.OrdinalIgnoreCase));

    private static LocalObjectStore CreateLocal(RepositoryOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            throw new ArgumentException("BackupDr:Repository:Path is required for a Local repository", nameof(options));
        }

        return new LocalObjectStore(options.Path);
    }

    private static S3ObjectStore CreateS3(S3RepositoryOptions s3, ObjectStoreSettings settings)
    {
        if (string.IsNullOrWhiteSpace(s3.Bucket))
        {
            throw new ArgumentException("BackupDr:Repository:S3:Bucket is required for an S3 repository", nameof(s3));
        }

        var config = S3ObjectStore.CreateConfig(s3.ServiceUrl, s3.Region, s3.ForcePathStyle);
        return new S3ObjectStore(new AmazonS3Client(config), s3.Bucket, s3.Prefix, IsAmazonS3(s3.ServiceUrl), settings);
    }

    private static AzureBlobObjectStore CreateAzure(AzureRepositoryOptions azure, ObjectStoreSettings settings) =>
        CreateAzure(azure, settings, () => new DefaultAzureCredential(), AzureBlobObjectStore.CreateClientOptions());

    /// <summary>The Azure store, with the credential used for a ServiceUri and the client options given (tests: a test token issuer, a pinned server certificate).</summary>
    internal static AzureBlobObjectStore CreateAzure(
        AzureRepositoryOptions azure, ObjectStoreSettings settings, Func<TokenCredential> identity, BlobClientOptions clientOptions)
    {
        if (string.IsNullOrWhiteSpace(azure.Container))
        {
            throw new ArgumentException("BackupDr:Repository:Azure:Container is required for an Azure repository", nameof(azure));
        }

        BlobContainerClient container;
        if (string.IsNullOrWhiteSpace(azure.ConnectionString))
        {
            if (!Uri.TryCreate(azure.ServiceUri, UriKind.Absolute, out var service) || service.Scheme != Uri.UriSchemeHttps)
            {
                throw new ArgumentException(
                    "an Azure repository needs a connection string (env BackupDr__Repository__Azure__ConnectionString) "
                    + "or an https BackupDr:Repository:Azure:ServiceUri with an Azure identity",
                    nameof(azure));
            }

            container = new BlobContainerClient(new Uri($"{service.AbsoluteUri.TrimEnd('/')}/{azure.Container}"), identity(), clientOptions);
        }
        else
        {
            try
            {
                container = new BlobContainerClient(azure.ConnectionString, azure.Container, clientOptions);
            }
            catch (FormatException)
            {
                // The message must not quote the connection string: it holds the account key.
                throw new ArgumentException("BackupDr:Repository:Azure:ConnectionString is malformed", nameof(azure));
            }
        }

        return new AzureBlobObjectStore(container, azure.Prefix, settings);
    }
}
