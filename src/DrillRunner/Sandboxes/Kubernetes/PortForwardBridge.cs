using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using k8s;
using Microsoft.Extensions.Logging;

namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>
/// <c>kubectl port-forward</c> in-process: a TCP listener on 127.0.0.1 (a free port) whose every accepted connection
/// is carried to the pod's port over its own WebSocket to the API server (<c>pods/portforward</c>, protocol
/// <c>v4.channel.k8s.io</c>: each binary message starts with its channel byte, 0 = data, 1 = error; the first message
/// on each channel from the server starts with the port, two bytes little-endian). pg_restore and Npgsql connect to
/// 127.0.0.1 as they do with a local sandbox. Errors the API server sends on the error channel are kept for the drill
/// record. Disposing stops the listener and closes every connection.
/// </summary>
internal sealed partial class PortForwardBridge : IAsyncDisposable
{
    private const byte DataChannel = 0;
    private const byte ErrorChannel = 1;
    private const int BufferBytes = 64 * 1024;

    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly string _pod;
    private readonly int _port;
    private readonly ILogger _logger;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private Task? _accepting;

    public PortForwardBridge(IKubernetes client, string ns, string pod, int port, ILogger logger)
    {
        _client = client;
        _namespace = ns;
        _pod = pod;
        _port = port;
        _logger = logger;
    }

    public int LocalPort => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>What went wrong on forwarded connections (API server refusals, error-channel messages), oldest first.</summary>
    public IReadOnlyList<string> Errors => [.. _errors];

    public void Start()
    {
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            var connection = ForwardAsync(socket, cancellationToken);
            _connections[connection] = true;
            _ = connection.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    /// <summary>Carries one accepted connection; its failure closes that connection only and is kept in <see cref="Errors"/>.</summary>
    private async Task ForwardAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var _ = socket;
        WebSocket webSocket;
        try
        {
            webSocket = await _client.WebSocketNamespacedPodPortForwardAsync(
                _pod, _namespace, [_port], WebSocketProtocol.V4BinaryWebsocketProtocol, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Connection boundary: the API server refused the forward (RBAC, pod gone); the client sees its
            // connection closed and the reason goes into the drill record.
            Fail($"the API server refused to forward port {_port} of pod {_namespace}/{_pod}: {e.Message}", e);
            return;
        }
        catch (OperationCanceledException)
        {
            return;
        }

        using (webSocket)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var fromPod = PodToClientAsync(webSocket, socket, linked.Token);
            var toPod = ClientToPodAsync(socket, webSocket, linked.Token);
            var first = await Task.WhenAny(fromPod, toPod);
            if (first.Exception?.InnerException is { } error and not OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                Fail($"port-forward to {_namespace}/{_pod}:{_port} broke: {error.Message}", error);
            }

            // The first direction to end decides; the other is cut short now and its failure is only that.
            await linked.CancelAsync();
            await Task.WhenAll(fromPod, toPod).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task PodToClientAsync(WebSocket webSocket, Socket socket, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            // Per channel: how many bytes of the port prefix are still to be skipped.
            var prefixLeft = new Dictionary<byte, int> { [DataChannel] = 2, [ErrorChannel] = 2 };
            var error = new StringBuilder();
            var channel = DataChannel;
            var startOfMessage = true;
            while (true)
            {
                var result = await ReceiveOrEndAsync(webSocket, buffer, cancellationToken);
                if (result is null || result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                var offset = 0;
                if (startOfMessage)
                {
                    if (result.Count == 0)
                    {
                        continue;
                    }

                    channel = buffer[0];
                    offset = 1;
                }

                startOfMessage = result.EndOfMessage;
                var skip = Math.Min(prefixLeft.GetValueOrDefault(channel), result.Count - offset);
                prefixLeft[channel] = prefixLeft.GetValueOrDefault(channel) - skip;
                offset += skip;
                var count = result.Count - offset;
                if (count == 0)
                {
                    continue;
                }

                if (channel == DataChannel)
                {
                    await socket.SendAsync(buffer.AsMemory(offset, count), SocketFlags.None, cancellationToken);
                }
                else if (channel == ErrorChannel)
                {
                    error.Append(Encoding.UTF8.GetString(buffer, offset, count));
                }
            }

            if (error.Length > 0)
            {
                Fail($"port-forward to {_namespace}/{_pod}:{_port}: {error}", null);
            }

            socket.Shutdown(SocketShutdown.Send);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The next message from the API server, or null when it hung up without the close handshake. The pod side ending
    /// is the end of that direction however it ends (an API server may drop the stream as soon as the pod's connection
    /// closes, before the client's own close reaches it); the client sees end-of-stream, and a client that still
    /// expected data reports that failure itself (pg_restore, Npgsql).
    /// </summary>
    private async Task<WebSocketReceiveResult?> ReceiveOrEndAsync(WebSocket webSocket, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await webSocket.ReceiveAsync(buffer, cancellationToken);
        }
        catch (WebSocketException e) when (e.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely)
        {
            LogPodSideHungUp(_logger, _namespace, _pod, _port);
            return null;
        }
    }

    private async Task ClientToPodAsync(Socket socket, WebSocket webSocket, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes + 1);
        try
        {
            buffer[0] = DataChannel;
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(1, BufferBytes), SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    // The client closed: end the stream to the pod (the API server closes the pod side). The API server
                    // may have hung up meanwhile (the pod side ended first): the connection is over either way.
                    try
                    {
                        await webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client closed", cancellationToken);
                    }
                    catch (WebSocketException e)
                    {
                        LogCloseAfterHangUp(_logger, _namespace, _pod, _port, e.Message);
                    }

                    return;
                }

                await webSocket.SendAsync(buffer.AsMemory(0, read + 1), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Fail(string message, Exception? exception)
    {
        _errors.Enqueue(message);
        LogForwardFailed(_logger, exception, message);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        if (_accepting is not null)
        {
            await _accepting;
        }

        // Every connection task ends on its own once cancelled (each catches its own failures).
        await Task.WhenAll(_connections.Keys);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "port-forward to {Namespace}/{Pod}:{Port}: the API server ended the stream without the close handshake")]
    private static partial void LogPodSideHungUp(ILogger logger, string @namespace, string pod, int port);

    [LoggerMessage(Level = LogLevel.Debug, Message = "port-forward to {Namespace}/{Pod}:{Port}: the client closed after the API server had hung up ({Reason})")]
    private static partial void LogCloseAfterHangUp(ILogger logger, string @namespace, string pod, int port, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Message}")]
    private static partial void LogForwardFailed(ILogger logger, Exception? exception, string message);
}
