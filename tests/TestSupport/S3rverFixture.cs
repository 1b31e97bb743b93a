using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Xunit;

namespace BackupDr.TestSupport;

/// <summary>
/// One s3rver (S3 API, npm s3rver 3.7.1) per test run, register with <c>[assembly: AssemblyFixture]</c>.
/// Each test class takes a fresh bucket from <see cref="CreateBucketAsync"/>. When node or tools/node_modules is
/// missing, the accessors call <see cref="TestEnvironment.Unavailable"/> (skip locally, fail under CI).
/// </summary>
/// <remarks>
/// s3rver stores corrupted bytes for AWSSDK.S3 4.0 unless the client uses path-style addressing, checksums only
/// when required, and no chunked (aws-chunked) encoding on PutObject and UploadPart:
/// <see cref="CreateClient"/> sets the first two; requests must set <c>UseChunkEncoding = false</c>.
/// </remarks>
public sealed class S3rverFixture : IAsyncLifetime, INodeServerFixture
{
    /// <summary>s3rver accepts exactly this access key id and secret.</summary>
    public const string AccessKey = "S3RVER";

    public const string SecretKey = "S3RVER";

    public const string Region = "us-east-1";

    private readonly ServerFixtureState _state = new("s3rver (S3 test server)");

    public NodeServerProcess Server => _state.Server;

    /// <summary>Path-style endpoint, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public Uri ServiceUrl => new($"http://127.0.0.1:{Server.Port}");

    /// <summary>The folder s3rver keeps buckets in: <c>&lt;bucket&gt;/&lt;key&gt;._S3rver_object</c>.</summary>
    public string DataDirectory => Path.Combine(Server.DataDirectory, "data");

    public async ValueTask InitializeAsync() =>
        await _state.StartAsync(
            new NodeServerOptions(
                "s3rver",
                Path.Combine("node_modules", "s3rver", "bin", "s3rver.js"),
                (port, folder) =>
                    ["--directory", Path.Combine(folder, "data"), "--address", "127.0.0.1", "--port", $"{port}", "--silent"],
                "S3rver listening on",
                NodeServerProcess.HttpProbe("/")),
            TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => _state.DisposeAsync();

    /// <summary>An S3 client for this server, configured as s3rver needs. The caller disposes it.</summary>
    public AmazonS3Client CreateClient()
    {
        var config = new AmazonS3Config
        {
            ServiceURL = ServiceUrl.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = Region,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
        };
        return new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey), config);
    }

    /// <summary>Creates a new, empty bucket with a unique name and returns its name.</summary>
    public async Task<string> CreateBucketAsync(CancellationToken cancellationToken)
    {
        var name = $"test-{Guid.NewGuid():N}";
        using var client = CreateClient();
        await client.PutBucketAsync(new PutBucketRequest { BucketName = name }, cancellationToken);
        return name;
    }
}
