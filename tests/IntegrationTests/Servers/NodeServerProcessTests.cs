using System.Net;
using System.Net.Sockets;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Servers;

// These start their own servers (not the shared assembly fixtures) to watch a whole start-stop cycle.
public sealed class NodeServerProcessTests
{
    public static TheoryData<string> FixtureKinds => ["s3rver", "azurite", "smtp"];

    [Theory]
    [MemberData(nameof(FixtureKinds))]
    public async Task DisposeAsync_RunningFixture_ClosesPortAndDeletesFolder(string kind)
    {
        var ct = TestContext.Current.CancellationToken;
        INodeServerFixture fixture = kind switch
        {
            "s3rver" => await Started(new S3rverFixture()),
            "azurite" => await Started(new AzuriteFixture()),
            _ => await Started(new SmtpFixture()),
        };
        var server = fixture.Server;
        var port = server.Port;
        var folder = server.DataDirectory;
        TestContext.Current.TestOutputHelper?.WriteLine($"{server.Name}: ready in {server.StartupDuration.TotalMilliseconds:0} ms");
        (await NodeServerProcess.AcceptsConnectionsAsync(port, ct)).ShouldBeTrue();
        Directory.Exists(folder).ShouldBeTrue();

        await fixture.DisposeAsync();

        server.HasExited.ShouldBeTrue();
        (await NodeServerProcess.AcceptsConnectionsAsync(port, ct)).ShouldBeFalse();
        Directory.Exists(folder).ShouldBeFalse();
        Should.Throw<InvalidOperationException>(() => fixture.Server);
    }

    [Fact]
    public async Task StartAsync_ServerExitsAtOnce_ThrowsWithItsOutput()
    {
        var options = new NodeServerOptions(
            "smtp-sink-without-port",
            Path.Combine("servers", "smtp-sink.mjs"),
            (_, _) => [],
            "SMTP-SINK READY",
            NodeServerProcess.AcceptsConnectionsAsync);

        var error = await Record.ExceptionAsync(
            () => NodeServerProcess.StartAsync(options, TestContext.Current.CancellationToken));

        if (error is NodeServerUnavailableException unavailable)
        {
            TestEnvironment.Unavailable(unavailable.What, unavailable.HowToFix);
        }

        error.ShouldBeAssignableTo<InvalidOperationException>()!.Message.ShouldContain("a TCP port is required");
    }

    [Fact]
    public async Task StartAsync_PortTakenOnFirstAttempt_StartsOnAnotherPort()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var takenPort = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var attempts = 0;
        var options = new NodeServerOptions(
            "smtp-sink-port-race",
            Path.Combine("servers", "smtp-sink.mjs"),
            (port, folder) =>
            [
                "--port", $"{(Interlocked.Increment(ref attempts) == 1 ? takenPort : port)}",
                "--mail-dir", Path.Combine(folder, "mail"),
            ],
            "SMTP-SINK READY",
            NodeServerProcess.AcceptsConnectionsAsync);

        NodeServerProcess server;
        try
        {
            server = await NodeServerProcess.StartAsync(options, TestContext.Current.CancellationToken);
        }
        catch (NodeServerUnavailableException unavailable)
        {
            TestEnvironment.Unavailable(unavailable.What, unavailable.HowToFix);
            throw;
        }

        await using (server)
        {
            attempts.ShouldBe(2);
            server.Port.ShouldNotBe(takenPort);
            server.HasExited.ShouldBeFalse();
        }
    }

    [Fact]
    public async Task StartAsync_ScriptNotInstalled_ThrowsUnavailable()
    {
        var options = new NodeServerOptions(
            "missing",
            Path.Combine("node_modules", "no-such-package", "server.js"),
            (_, _) => [],
            "never",
            NodeServerProcess.AcceptsConnectionsAsync);

        var error = await Should.ThrowAsync<NodeServerUnavailableException>(
            () => NodeServerProcess.StartAsync(options, TestContext.Current.CancellationToken));

        error.HowToFix.ShouldContain("scripts/install-deps.sh");
    }

    private static async Task<T> Started<T>(T fixture)
        where T : IAsyncLifetime
    {
        await fixture.InitializeAsync();
        return fixture;
    }
}
