using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BackupDr.Repository.Postgres;
using Microsoft.AspNetCore.Http;

namespace BackupDr.TestSupport.Kubernetes;

/// <summary>What the fake kubelet does with the next pods it runs.</summary>
public enum PodScript
{
    /// <summary>Pulls, starts a real local PostgreSQL cluster of the image's major with the pod's <c>-c</c> settings, becomes Running and Ready.</summary>
    Start,

    /// <summary>Stays Pending: the scheduler finds no node (a FailedScheduling event), forever.</summary>
    NeverScheduled,

    /// <summary>The image cannot be pulled: ErrImagePull, then ImagePullBackOff.</summary>
    ImagePullBackOff,

    /// <summary>The container starts and exits with code 1 after logging a FATAL line; the pod (restartPolicy Never) is Failed.</summary>
    CrashOnStart,

    /// <summary>The container runs but its readiness probe keeps failing (HTTP 500), forever.</summary>
    NeverReady,
}

/// <summary>
/// The fake API server's node: runs pods by script, writes their status, events and logs, and serves port-forward
/// WebSockets (v4.channel.k8s.io) by bridging them to the pod's real local PostgreSQL server, or, for an image the test
/// serves itself (<see cref="Serve"/>, e.g. a <see cref="FakeOdooServer"/> as the Odoo image), to the test's server.
/// </summary>
public sealed partial class FakeKubelet : IAsyncDisposable
{
    private static readonly string Parent = Path.Combine(Path.GetTempPath(), "backupdr-tests");
    private readonly FakeKubernetesApi _api;
    private readonly ConcurrentDictionary<(string Ns, string Name), RunningPod> _pods = new();
    private readonly ConcurrentDictionary<string, PodScript> _imageScripts = new();
    private readonly ConcurrentDictionary<string, int> _servedImages = new();

    internal FakeKubelet(FakeKubernetesApi api) => _api = api;

    public PodScript Script { get; set; } = PodScript.Start;

    /// <summary>Pods of <paramref name="image"/> follow <paramref name="script"/> instead of <see cref="Script"/>.</summary>
    public void ScriptFor(string image, PodScript script) => _imageScripts[image] = script;

    /// <summary>
    /// Pods of <paramref name="image"/> are the test's server listening on 127.0.0.1:<paramref name="port"/>: with the
    /// Start script they become Running and Ready at once, and a port-forward to any port the pod declares reaches it.
    /// </summary>
    public void Serve(string image, int port) => _servedImages[image] = port;

    /// <summary>When true, every port-forward is accepted and then fails on its error channel (as when the pod's port refuses).</summary>
    public bool FailPortForward { get; set; }

    /// <summary>Kills the pod's server and marks the pod Failed (a crash after it was ready).</summary>
    public async Task CrashAsync(string ns, string name)
    {
        if (_pods.TryGetValue((ns, name), out var pod) && pod.Cluster is { } cluster)
        {
            await cluster.StopAsync(CancellationToken.None, "immediate");
            pod.Log.AppendLine("FATAL:  terminating connection due to administrator command");
            Terminated(ns, name, 137, "Error");
            Event(ns, name, "Warning", "BackOff", "Back-off restarting failed container postgres in pod postgres");
        }
    }

    internal async Task RunPodAsync(string ns, string name, CancellationToken cancellationToken)
    {
        if (_api.Store.Get(new ObjectKey("pods", ns, name)) is not { } pod)
        {
            return; // deleted before the node got to it (its namespace went)
        }

        var container = pod["spec"]!["containers"]![0]!;
        var image = container["image"]!.GetValue<string>();
        var containerName = container["name"]!.GetValue<string>();
        var running = new RunningPod(containerName);
        _pods[(ns, name)] = running;
        switch (_imageScripts.GetValueOrDefault(image, Script))
        {
            case PodScript.NeverScheduled:
                Event(ns, name, "Warning", "FailedScheduling", "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available");
                SetStatus(ns, name, status => status["conditions"] = new JsonArray(Condition("PodScheduled", "False", "Unschedulable", "0/3 nodes are available: 3 Insufficient memory.")));
                return;
            case PodScript.ImagePullBackOff:
                Event(ns, name, "Normal", "Scheduled", $"Successfully assigned {ns}/{name} to fake-node");
                Event(ns, name, "Normal", "Pulling", $"Pulling image \"{image}\"");
                Event(ns, name, "Warning", "Failed", $"Failed to pull image \"{image}\": rpc error: code = NotFound desc = manifest unknown");
                Event(ns, name, "Warning", "Failed", "Error: ErrImagePull");
                Waiting(ns, name, image, "ErrImagePull", $"rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": manifest unknown");
                Event(ns, name, "Normal", "BackOff", $"Back-off pulling image \"{image}\"");
                Event(ns, name, "Warning", "Failed", "Error: ImagePullBackOff");
                Waiting(ns, name, image, "ImagePullBackOff", $"Back-off pulling image \"{image}\"");
                return;
            case PodScript.NeverReady:
                Event(ns, name, "Normal", "Scheduled", $"Successfully assigned {ns}/{name} to fake-node");
                Event(ns, name, "Normal", "Started", $"Started container {containerName}");
                Event(ns, name, "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500");
                running.Log.AppendLine("ERROR ? odoo.http: Exception during request handling.");
                SetStatus(ns, name, status =>
                {
                    status["phase"] = "Running";
                    status["conditions"] = new JsonArray(Condition("PodScheduled", "True"), Condition("ContainersReady", "False"), Condition("Ready", "False", "ContainersNotReady"));
                    status["containerStatuses"] = new JsonArray(new JsonObject
                    {
                        ["name"] = containerName, ["image"] = image, ["ready"] = false, ["restartCount"] = 0,
                        ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Now() } },
                    });
                });
                return;
            case PodScript.CrashOnStart:
                Event(ns, name, "Normal", "Scheduled", $"Successfully assigned {ns}/{name} to fake-node");
                Event(ns, name, "Normal", "Started", $"Started container {containerName}");
                running.Log.AppendLine("FATAL:  data directory \"/var/lib/postgresql/data/pgdata\" has invalid permissions");
                running.Log.AppendLine("DETAIL:  Permissions should be u=rwx (0700) or u=rwx,g=rx (0750); partner 'ACME Finance' owns it.");
                Terminated(ns, name, 1, "Error");
                return;
        }

        Event(ns, name, "Normal", "Scheduled", $"Successfully assigned {ns}/{name} to fake-node");
        Event(ns, name, "Normal", "Pulled", $"Container image \"{image}\" already present on machine");
        if (_servedImages.TryGetValue(image, out var served))
        {
            foreach (var port in container["ports"]?.AsArray() ?? [])
            {
                running.Ports[port!["containerPort"]!.GetValue<int>()] = served;
            }

            running.Log.AppendLine(CultureInfo.InvariantCulture, $"INFO ? odoo: HTTP service (werkzeug) running on fake-node (fake kubelet: the test's server on 127.0.0.1:{served})");
            Event(ns, name, "Normal", "Started", $"Started container {containerName}");
            Ready(ns, name, containerName, image);
            return;
        }

        try
        {
            var major = int.Parse(MajorOfImage().Match(image).Groups[1].Value, CultureInfo.InvariantCulture);
            var settings = Settings(container["args"]?.AsArray().Select(a => a!.GetValue<string>()).ToList() ?? []);
            var root = Path.Combine(Parent, $"k8s-{Guid.NewGuid():N}"[..16]);
            running.Cluster = await PostgresCluster.CreateAsync(major, root, new PostgresClusterOptions { Settings = settings }, cancellationToken);
            await running.Cluster.StartAsync(cancellationToken);
            running.Ports[5432] = running.Cluster.Port;
            running.Log.AppendLine(CultureInfo.InvariantCulture, $"LOG:  database system is ready to accept connections (PostgreSQL {major}, fake kubelet, port {running.Cluster.Port})");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // What the container would have printed: the pod fails with it, as a real one would.
            running.Log.AppendLine("FATAL:  " + e.Message);
            Terminated(ns, name, 1, "Error");
            return;
        }

        Event(ns, name, "Normal", "Started", "Started container postgres");
        Ready(ns, name, containerName, image);
    }

    private void Ready(string ns, string name, string containerName, string image) => SetStatus(ns, name, status =>
    {
        status["phase"] = "Running";
        status["podIP"] = "127.0.0.1";
        status["conditions"] = new JsonArray(Condition("PodScheduled", "True"), Condition("Initialized", "True"), Condition("ContainersReady", "True"), Condition("Ready", "True"));
        status["containerStatuses"] = new JsonArray(new JsonObject
        {
            ["name"] = containerName, ["image"] = image, ["ready"] = true, ["restartCount"] = 0,
            ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Now() } },
        });
    });

    internal async Task StopPodAsync(string ns, string name)
    {
        if (_pods.TryRemove((ns, name), out var pod) && pod.Cluster is { } cluster)
        {
            await cluster.DestroyAsync(CancellationToken.None, immediate: true);
        }
    }

    internal async Task WriteLogAsync(HttpContext context, string ns, string name)
    {
        if (!_pods.TryGetValue((ns, name), out var pod) || pod.Log.Length == 0)
        {
            var container = context.Request.Query["container"].ToString() is { Length: > 0 } asked ? asked : pod?.Container ?? "postgres";
            await FakeKubernetesApi.WriteStatusAsync(context, 400, "BadRequest", $"container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating");
            return;
        }

        var lines = pod.Log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (pod.Cluster is { } cluster)
        {
            lines.AddRange(cluster.LogTail().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        var tail = int.TryParse(context.Request.Query["tailLines"], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : lines.Count;
        context.Response.ContentType = "text/plain";
        await context.Response.WriteAsync(string.Join('\n', lines.TakeLast(tail)) + "\n", context.RequestAborted);
    }

    /// <summary>
    /// The port-forward WebSocket: the port is sent first on the data and error channels (two bytes, little-endian), then
    /// data messages on channel 0 go both ways to the pod's server; a failure goes out as text on channel 1.
    /// </summary>
    internal async Task PortForwardAsync(HttpContext context, string ns, string name, CancellationToken cancellationToken)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await FakeKubernetesApi.WriteStatusAsync(context, 400, "BadRequest", "Upgrade request required");
            return;
        }

        var port = int.Parse(context.Request.Query["ports"].ToString(), CultureInfo.InvariantCulture);
        var protocol = context.WebSockets.WebSocketRequestedProtocols.FirstOrDefault(p => p == "v4.channel.k8s.io");
        using var webSocket = await context.WebSockets.AcceptWebSocketAsync(protocol);
        byte[] prefix = [(byte)(port & 0xff), (byte)(port >> 8)];
        await webSocket.SendAsync(new byte[] { 0, prefix[0], prefix[1] }, WebSocketMessageType.Binary, true, cancellationToken);
        await webSocket.SendAsync(new byte[] { 1, prefix[0], prefix[1] }, WebSocketMessageType.Binary, true, cancellationToken);
        if (FailPortForward || !_pods.TryGetValue((ns, name), out var pod) || !pod.Ports.TryGetValue(port, out var target))
        {
            var error = $"error forwarding port {port} to pod {name}, uid : failed to execute portforward in network namespace: dial tcp4 127.0.0.1:{port}: connect: connection refused";
            await webSocket.SendAsync(Encoding.UTF8.GetBytes("\u0001" + error), WebSocketMessageType.Binary, true, cancellationToken);
            await webSocket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", cancellationToken);
            return;
        }

        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", target, cancellationToken);
        var stream = tcp.GetStream();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var fromClient = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            while (true)
            {
                var result = await webSocket.ReceiveAsync(buffer, done.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    tcp.Client.Shutdown(SocketShutdown.Send);
                    return;
                }

                // Only data messages on channel 0 are forwarded; the first byte of each message is its channel.
                var (offset, count) = result.Count > 0 && buffer[0] == 0 ? (1, result.Count - 1) : (0, 0);
                await stream.WriteAsync(buffer.AsMemory(offset, count), done.Token);
                while (!result.EndOfMessage)
                {
                    result = await webSocket.ReceiveAsync(buffer, done.Token);
                    await stream.WriteAsync(buffer.AsMemory(0, result.Count), done.Token);
                }
            }
        }, done.Token);
        var toClient = Task.Run(async () =>
        {
            var buffer = new byte[65537];
            while (true)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(1, 65536), done.Token);
                if (read == 0)
                {
                    await webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", done.Token);
                    return;
                }

                buffer[0] = 0;
                await webSocket.SendAsync(buffer.AsMemory(0, read + 1), WebSocketMessageType.Binary, true, done.Token);
            }
        }, done.Token);
        await Task.WhenAny(fromClient, toClient);
        await done.CancelAsync();
        // Either side closing ends the forward; the other side's cut-short read is expected.
        await Task.WhenAll(fromClient, toClient).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var key in _pods.Keys.ToList())
        {
            await StopPodAsync(key.Ns, key.Name);
        }
    }

    /// <summary><c>-c name=value</c> pairs as postgresql.conf values (an empty value is the empty string literal).</summary>
    private static Dictionary<string, string> Settings(List<string> args)
    {
        var settings = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Count; i += 2)
        {
            if (args[i] == "-c" && args[i + 1].Split('=', 2) is [var key, var value])
            {
                settings[key] = value.Length == 0 ? "''" : PlainValue().IsMatch(value) ? value : $"'{value.Replace("'", "''", StringComparison.Ordinal)}'";
            }
        }

        return settings;
    }

    private void Waiting(string ns, string name, string image, string reason, string message) => SetStatus(ns, name, status =>
        status["containerStatuses"] = new JsonArray(new JsonObject
        {
            ["name"] = ContainerOf(ns, name), ["image"] = image, ["ready"] = false, ["restartCount"] = 0,
            ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = reason, ["message"] = message } },
        }));

    private void Terminated(string ns, string name, int exitCode, string reason) => SetStatus(ns, name, status =>
    {
        status["phase"] = "Failed";
        status["conditions"] = new JsonArray(Condition("Ready", "False", "PodFailed"));
        status["containerStatuses"] = new JsonArray(new JsonObject
        {
            ["name"] = ContainerOf(ns, name), ["ready"] = false, ["restartCount"] = 0,
            ["state"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = exitCode, ["reason"] = reason, ["finishedAt"] = Now() } },
        });
    });

    private string ContainerOf(string ns, string name) => _pods.TryGetValue((ns, name), out var pod) ? pod.Container : "postgres";

    private void SetStatus(string ns, string name, Action<JsonObject> change) =>
        _api.Store.Update(new ObjectKey("pods", ns, name), pod =>
        {
            var status = pod["status"] as JsonObject ?? [];
            change(status);
            pod["status"] = status;
        });

    private void Event(string ns, string pod, string type, string reason, string message)
    {
        var name = $"{pod}.{Guid.NewGuid().ToString("N")[..16]}";
        _api.Seed("events", ns, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["involvedObject"] = new JsonObject { ["kind"] = "Pod", ["name"] = pod, ["namespace"] = ns },
            ["type"] = type, ["reason"] = reason, ["message"] = message,
            ["firstTimestamp"] = Now(), ["lastTimestamp"] = Now(), ["count"] = 1,
        });
    }

    private static JsonObject Condition(string type, string status, string? reason = null, string? message = null) =>
        new() { ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message };

    private string Now() => _api.Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    [GeneratedRegex(@":(\d+)")]
    private static partial Regex MajorOfImage();

    [GeneratedRegex("^[A-Za-z0-9_.]+$")]
    private static partial Regex PlainValue();

    private sealed class RunningPod(string container)
    {
        public string Container { get; } = container;

        public StringBuilder Log { get; } = new();

        /// <summary>Container port to the local TCP port that stands in for it.</summary>
        public ConcurrentDictionary<int, int> Ports { get; } = new();

        public PostgresCluster? Cluster { get; set; }
    }
}
