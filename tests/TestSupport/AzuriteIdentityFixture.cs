using System.Net.Security;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Xunit;

namespace BackupDr.TestSupport;

/// <summary>
/// An Azurite blob service that takes Microsoft Entra ID bearer tokens (<c>--oauth basic</c>, which needs HTTPS), for
/// the repository's Azure identity path. Entra ID itself is out of reach here, so <see cref="Identity"/> issues tokens
/// of the shape Entra ID issues for storage (issuer <c>https://sts.windows.net/TENANT/</c>, audience
/// <c>https://storage.azure.com</c>, nbf/iat/exp); Azurite's basic check validates issuer, audience and lifetime, not
/// the signature. The server certificate is a fresh self-signed one; <see cref="ClientOptions"/> pins it.
/// </summary>
public sealed class AzuriteIdentityFixture : IAsyncLifetime, INodeServerFixture
{
    private readonly ServerFixtureState _state = new("Azurite with OAuth (Azure Blob test server)");
    private string _certificateSha256 = "";

    public NodeServerProcess Server => _state.Server;

    /// <summary>The blob service endpoint, path-style over HTTPS: <c>https://127.0.0.1:{port}/devstoreaccount1</c>.</summary>
    public Uri ServiceUri => new($"https://127.0.0.1:{Server.Port}/{AzuriteFixture.AccountName}");

    /// <summary>A token credential standing in for Entra ID (see the class summary).</summary>
    public TestIdentity Identity { get; } = new("https://storage.azure.com");

    public async ValueTask InitializeAsync()
    {
        var certificate = TestCertificates.SelfSignedLoopback();
        _certificateSha256 = certificate.Sha256;
        await _state.StartAsync(
            AzuriteFixture.ServerOptions(folder => ["--oauth", "basic", .. TestCertificate.Arguments(folder)], NodeServerProcess.AcceptsConnectionsAsync)
                with { Prepare = certificate.WriteTo },
            TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => _state.DisposeAsync();

    /// <summary>Client options as the repository sets them (no SDK retries), trusting this server's certificate only.</summary>
    public BlobClientOptions ClientOptions()
    {
        var pinned = _certificateSha256;
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None
                || (certificate is not null && certificate.GetCertHashString(HashAlgorithmName.SHA256) == pinned),
        };
        var options = new BlobClientOptions { Transport = new HttpClientTransport(handler) };
        options.Retry.MaxRetries = 0;
        return options;
    }

    /// <summary>Creates a new, empty container (shared-key auth, which Azurite keeps accepting) and returns its name.</summary>
    public async Task<string> CreateContainerAsync(CancellationToken cancellationToken)
    {
        var name = $"test-{Guid.NewGuid():N}";
        var connectionString = $"DefaultEndpointsProtocol=https;AccountName={AzuriteFixture.AccountName};AccountKey={AzuriteFixture.AccountKey};BlobEndpoint={ServiceUri};";
        await new BlobServiceClient(connectionString, ClientOptions()).CreateBlobContainerAsync(name, cancellationToken: cancellationToken);
        return name;
    }
}

/// <summary>
/// Issues unsigned JWTs with an Entra ID storage token's claims for <paramref name="audience"/>, valid for an hour, and
/// counts the requests (so a test can tell the store asked this identity).
/// </summary>
public sealed class TestIdentity(string audience) : TokenCredential
{
    private int _requests;

    public int Requests => Volatile.Read(ref _requests);

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        var now = TimeProvider.System.GetUtcNow();
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "none", typ = "JWT" }));
        var claims = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["aud"] = audience,
            ["iss"] = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
            ["iat"] = now.AddMinutes(-5).ToUnixTimeSeconds(),
            ["nbf"] = now.AddMinutes(-5).ToUnixTimeSeconds(),
            ["exp"] = now.AddHours(1).ToUnixTimeSeconds(),
            ["oid"] = "11111111-1111-1111-1111-111111111111",
        }));
        return new AccessToken($"{header}.{claims}.", now.AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
