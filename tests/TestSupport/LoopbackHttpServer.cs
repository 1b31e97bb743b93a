using System.Net;
using System.Net.Sockets;

namespace BackupDr.TestSupport;

/// <summary>
/// A real HTTP server for tests on 127.0.0.1 and a free port (System.Net.HttpListener): it takes requests one at a time
/// and hands each to <see cref="HandleAsync"/> until disposed. A handler that throws ends the server, and disposing
/// rethrows it, so a broken fake fails its test rather than leaving requests unanswered quietly.
/// </summary>
public abstract class LoopbackHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private Task _loop = Task.CompletedTask;

    /// <summary><c>http://127.0.0.1:PORT</c>, without a trailing slash.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The TCP port it listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        try
        {
            await _loop;
        }
        finally
        {
            _listener.Close();
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Starts listening and serving; called by the derived class once it is fully constructed.</summary>
    protected void Start()
    {
        // HttpListener cannot pick a port itself: take one the OS says is free, and retry if another process wins it.
        for (var attempt = 1; ; attempt++)
        {
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            BaseUrl = $"http://127.0.0.1:{Port}";
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add(BaseUrl + "/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                // The port was taken between the probe and Start: try another.
            }
        }

        _loop = Task.Run(ServeAsync);
    }

    /// <summary>Answers one request (and closes its response).</summary>
    protected abstract Task HandleAsync(HttpListenerContext context);

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return; // stopped by DisposeAsync
            }

            try
            {
                await HandleAsync(context);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException && !_listener.IsListening)
            {
                return; // stopped while answering
            }
        }
    }
}
