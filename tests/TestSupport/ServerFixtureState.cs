namespace BackupDr.TestSupport;

/// <summary>
/// The start outcome of one server fixture. A fixture's InitializeAsync never throws: xunit would fail every test
/// of the assembly, including those that do not need this server. The outcome is raised per test instead, from
/// <see cref="Server"/>: "not installed" goes through <see cref="TestEnvironment.Unavailable"/> (skip, or fail
/// under CI), any other start failure fails the test with the server's output.
/// </summary>
public sealed class ServerFixtureState(string description) : IAsyncDisposable
{
    private NodeServerProcess? _server;
    private NodeServerUnavailableException? _unavailable;
    private Exception? _startFailure;

    /// <summary>The running server; skips or fails the calling test when it is not running.</summary>
    public NodeServerProcess Server
    {
        get
        {
            if (_unavailable is not null)
            {
                TestEnvironment.Unavailable(_unavailable.What, _unavailable.HowToFix);
            }

            if (_startFailure is not null)
            {
                throw new InvalidOperationException($"{description} did not start: {_startFailure.Message}", _startFailure);
            }

            return _server ?? throw new InvalidOperationException($"{description} was not started or is stopped.");
        }
    }

    public async Task StartAsync(NodeServerOptions options, CancellationToken cancellationToken)
    {
        try
        {
            _server = await NodeServerProcess.StartAsync(options, cancellationToken);
        }
        catch (NodeServerUnavailableException e)
        {
            _unavailable = e;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Fixture boundary: kept and raised from every test that asks for this server (see the class summary).
            _startFailure = e;
        }
    }

    public async ValueTask DisposeAsync()
    {
        var server = Interlocked.Exchange(ref _server, null);
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}
