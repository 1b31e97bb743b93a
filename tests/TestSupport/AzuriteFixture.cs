using Azure.Storage.Blobs;
using Xunit;

namespace BackupDr.TestSupport;

/// <summary>
/// One Azurite blob service (npm azurite 3.37.0) per test run, register with <c>[assembly: AssemblyFixture]</c>.
/// Each test class takes a fresh container from <see cref="CreateContainerAsync"/>. When node or tools/node_modules
/// is missing, the accessors call <see cref="TestEnvironment.Unavailable"/> (skip locally, fail under CI).
/// </summary>
/// <remarks>
/// Started with <c>--skipApiVersionCheck</c>: Azurite 3.37.0 rejects the service version Azure.Storage.Blobs
/// 12.30.1 sends. Telemetry is off (no network here). Data lives on disk in the server's temp folder.
/// </remarks>
public sealed class AzuriteFixture : IAsyncLifetime, INodeServerFixture
{
    /// <summary>Azurite's well-known development account; the key is public (Azure docs), not a secret.</summary>
    public const string AccountName = "devstoreaccount1";

    public const string AccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly ServerFixtureState _state = new("Azurite (Azure Blob test server)");

    public NodeServerProcess Server => _state.Server;

    /// <summary>The blob service endpoint, path-style: <c>http://127.0.0.1:{port}/devstoreaccount1</c>.</summary>
    public Uri ServiceUri => new($"http://127.0.0.1:{Server.Port}/{AccountName}");

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint={ServiceUri};";

    public async ValueTask InitializeAsync() =>
        await _state.StartAsync(ServerOptions(_ => [], NodeServerProcess.HttpProbe($"/{AccountName}?comp=list")), TestContext.Current.CancellationToken);

    /// <summary>How an Azurite blob service starts: on 127.0.0.1, data in the server's folder, plus <paramref name="arguments"/>.</summary>
    internal static NodeServerOptions ServerOptions(Func<string, IEnumerable<string>> arguments, Func<int, CancellationToken, Task<bool>> probe) =>
        new(
            "azurite",
            Path.Combine("node_modules", "azurite", "dist", "src", "blob", "main.js"),
            (port, folder) =>
            [
                "--blobHost", "127.0.0.1", "--blobPort", $"{port}", "--location", folder,
                "--silent", "--skipApiVersionCheck", "--disableTelemetry", .. arguments(folder),
            ],
            "successfully listens on",
            probe);

    public ValueTask DisposeAsync() => _state.DisposeAsync();

    /// <summary>A blob service client for this server (shared-key auth).</summary>
    public BlobServiceClient CreateClient(BlobClientOptions? options = null) => new(ConnectionString, options);

    /// <summary>Creates a new, empty container with a unique name and returns its name.</summary>
    public async Task<string> CreateContainerAsync(CancellationToken cancellationToken)
    {
        var name = $"test-{Guid.NewGuid():N}";
        await CreateClient().CreateBlobContainerAsync(name, cancellationToken: cancellationToken);
        return name;
    }
}
