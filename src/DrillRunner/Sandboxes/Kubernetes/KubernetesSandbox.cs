using System.Net;
using System.Security.Cryptography;
using BackupDr.Repository.Configuration;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>
/// One drill's namespace; see <see cref="KubernetesSandboxProvider"/>. <see cref="StartAsync"/> makes every object and
/// waits for the server, so any refusal lands in the drill's Provision phase and teardown still runs; teardown deletes
/// the namespace in every case and waits (bounded) until it is gone.
/// </summary>
internal sealed partial class KubernetesSandbox : ISandbox
{
    private readonly IKubernetes _client;
    private readonly KubernetesSandboxOptions _options;
    private readonly SandboxRequest _request;
    private readonly SandboxFolder _folder;
    private readonly string _image;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _password = NewPassword();
    private readonly SandboxStart _start = new();
    private readonly List<string> _diagnostics = [];
    private bool _namespaceRequested;
    private PortForwardBridge? _bridge;
    private bool _tornDown;

    internal KubernetesSandbox(
        IKubernetes client, KubernetesSandboxOptions options, SandboxRequest request, SandboxFolder folder, string image, TimeProvider time, ILogger logger)
    {
        _client = client;
        _options = options;
        _request = request;
        _folder = folder;
        _image = image;
        _time = time;
        _logger = logger;
        Id = SandboxNamespace.Name(options.NamespacePrefix, request.Target, request.DrillId);
    }

    public string Kind => KubernetesSandboxProvider.KindName;

    /// <summary>The namespace's name.</summary>
    public string Id { get; }

    public string Placement => $"in pod {Id}/{SandboxManifests.PodName} ({_image}), reached through a port-forward on 127.0.0.1";

    public IReadOnlyList<string> Diagnostics => _diagnostics;

    public string ServerVersion { get; private set; } = "";

    public string FilestorePath => _folder.FilestorePath;

    public string StagingPath => _folder.StagingPath;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_tornDown, this);
        return _start.Run(Id, StartServerAsync, cancellationToken);
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        var expiresAt = _time.GetUtcNow() + _options.Expiry;
        _namespaceRequested = true;
        await CreateAsync("the namespace", () => _client.CoreV1.CreateNamespaceAsync(SandboxManifests.Namespace(Id, _request, expiresAt), cancellationToken: cancellationToken));
        foreach (var policy in SandboxManifests.NetworkPolicies(Id, _options))
        {
            await CreateAsync($"network policy {policy.Metadata.Name}", () => _client.NetworkingV1.CreateNamespacedNetworkPolicyAsync(policy, Id, cancellationToken: cancellationToken));
        }

        var odoo = RunsOdoo ? _options.Odoo : null;
        await CreateAsync("the resource quota", () => _client.CoreV1.CreateNamespacedResourceQuotaAsync(SandboxManifests.Quota(Id, _request.Limits, odoo), Id, cancellationToken: cancellationToken));
        await CreateAsync("the limit range", () => _client.CoreV1.CreateNamespacedLimitRangeAsync(SandboxManifests.LimitRange(Id, _request.Limits, odoo), Id, cancellationToken: cancellationToken));
        await CreateAsync("the password secret", () => _client.CoreV1.CreateNamespacedSecretAsync(
            SandboxManifests.PasswordSecret(Id, _password, RunsOdoo ? _odooPassword : null), Id, cancellationToken: cancellationToken));
        await CreateAsync("the PostgreSQL pod", () => _client.CoreV1.CreateNamespacedPodAsync(
            SandboxManifests.PostgresPod(Id, _image, _request.Limits, _options, _request.DrillId), Id, cancellationToken: cancellationToken));
        await WaitReadyAsync("the PostgreSQL server", "the PostgreSQL pod", SandboxManifests.PodName, null, SandboxManifests.ContainerName, cancellationToken);

        _bridge = new PortForwardBridge(_client, Id, SandboxManifests.PodName, SandboxManifests.PostgresPort, _logger);
        _bridge.Start();
        var builder = new NpgsqlConnectionStringBuilder(ConnectionStringFor("postgres")) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or IOException)
        {
            throw new SandboxException(
                $"namespace {Id}: the PostgreSQL pod is ready but cannot be reached through the port-forward: {e.Message}{string.Concat(_bridge.Errors.Select(m => "; " + m))}", e);
        }

        ServerVersion = connection.ServerVersion;
        LogStarted(_logger, Id, _request.PostgresMajor, _image, _bridge.LocalPort);
    }

    /// <summary>Creates one object; the API server's refusal becomes a <see cref="SandboxException"/> naming the object and the reason.</summary>
    private async Task CreateAsync<T>(string what, Func<Task<T>> create)
    {
        try
        {
            await create();
        }
        catch (HttpOperationException e)
        {
            throw new SandboxException($"namespace {Id}: creating {what} was refused ({PodDiagnostics.Describe(e)})", e);
        }
    }

    /// <summary>
    /// Watches the pod (<paramref name="podName"/>, or the one <paramref name="labelSelector"/> selects) until it is ready, cannot become ready (image,
    /// crash), or <c>ReadyTimeout</c> passes; in the two failures its status, the namespace's events and its last log
    /// lines are kept for the record. <paramref name="server"/> and <paramref name="pod"/> name it in the error.
    /// </summary>
    private async Task<V1Pod> WaitReadyAsync(
        string server, string pod, string? podName, string? labelSelector, string container, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.ReadyTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        V1Pod? last = null;
        try
        {
            while (true)
            {
                // A watch ends when the API server closes it (its own timeout); the next one starts from the current state.
                await foreach (var (type, seen) in _client.CoreV1.WatchListNamespacedPodAsync(
                    Id, fieldSelector: podName is null ? null : "metadata.name=" + podName, labelSelector: labelSelector, cancellationToken: linked.Token))
                {
                    if (type == WatchEventType.Deleted)
                    {
                        // A Deployment's pod replaced (evicted, rescheduled): its successor shows up on the same watch.
                        continue;
                    }

                    last = seen;
                    if (PodDiagnostics.IsReady(seen))
                    {
                        return seen;
                    }

                    if (PodDiagnostics.Hopeless(seen) is { } why)
                    {
                        await CaptureAsync(seen, container);
                        throw new SandboxException($"namespace {Id}: {server} did not start: {why}");
                    }
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The pod as it is now, not as last seen on the watch (the watch may not have delivered anything yet).
            var now = podName is not null ? await ReadPodAsync(podName) : await FirstPodAsync(labelSelector!);
            await CaptureAsync(now ?? last, container);
            throw new SandboxException(
                $"namespace {Id}: {pod} was not ready after {_options.ReadyTimeout:c} (Sandbox:Kubernetes:ReadyTimeout); its events and logs are in the drill record");
        }
    }

    private async Task CaptureAsync(V1Pod? pod, string container)
    {
        // Its own bound: it runs when the drill's token may be gone and must not hold teardown up.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
        _diagnostics.AddRange(await PodDiagnostics.CaptureAsync(_client, Id, pod, container, Mask, timeout.Token));
    }

    private string Mask(string text) =>
        text.Replace(_password, "********", StringComparison.Ordinal).Replace(_odooPassword, "********", StringComparison.Ordinal);

    private static string NewPassword() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public string ConnectionString(string database) => _bridge is not null && _start.Succeeded
        ? ConnectionStringFor(database)
        : throw new InvalidOperationException($"sandbox {Id} is not started");

    private string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = _bridge!.LocalPort,
        Username = SandboxManifests.Superuser,
        Password = _password,
        Database = database,
        ApplicationName = "backupdr-drill",
    }.ConnectionString;

    public async Task TeardownAsync(CancellationToken cancellationToken)
    {
        if (_tornDown)
        {
            return;
        }

        _tornDown = true;
        await _start.StopAsync();

        try
        {
            if (_namespaceRequested)
            {
                await CaptureIfUnhealthyAsync();
                NpgsqlConnection.ClearAllPools();
                await CloseOdooBridgeAsync();
                if (_bridge is not null)
                {
                    await _bridge.DisposeAsync();
                    _diagnostics.AddRange(_bridge.Errors.Select(e => "port-forward: " + Mask(e)));
                }

                await DeleteNamespaceAsync(Id, _client, _options.DeleteTimeout, _time, cancellationToken);
                LogDeleted(_logger, Id);
            }
        }
        finally
        {
            await LocalSandbox.RemoveAsync(_folder.Path, cluster: null, _time);
            _start.Dispose();
            _client.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await TeardownAsync(CancellationToken.None);

    /// <summary>
    /// A start that failed without capturing (an object refused), or a pod that failed after it was ready (a crash
    /// mid-restore), tells why before its namespace goes. Reading may fail too: that is said, and deletion goes on.
    /// </summary>
    private async Task CaptureIfUnhealthyAsync()
    {
        if (_diagnostics.Count > 0)
        {
            return;
        }

        try
        {
            var pod = await ReadPodAsync(SandboxManifests.PodName);
            if (_start.Faulted || (pod is not null && !PodDiagnostics.IsReady(pod)))
            {
                await CaptureAsync(pod, SandboxManifests.ContainerName);
            }
            else
            {
                await CaptureOdooIfUnhealthyAsync();
            }
        }
        catch (Exception e) when (e is HttpOperationException or OperationCanceledException or HttpRequestException)
        {
            _diagnostics.Add($"diagnostics could not be read: {(e is HttpOperationException h ? PodDiagnostics.Describe(h) : e.Message)}");
        }
    }

    /// <summary>The first pod <paramref name="labelSelector"/> selects now (a Deployment's), or null when there is none.</summary>
    private async Task<V1Pod?> FirstPodAsync(string labelSelector)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
        var pods = await _client.CoreV1.ListNamespacedPodAsync(Id, labelSelector: labelSelector, cancellationToken: timeout.Token);
        return pods.Items.FirstOrDefault();
    }

    private async Task<V1Pod?> ReadPodAsync(string name)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
        try
        {
            return await _client.CoreV1.ReadNamespacedPodAsync(name, Id, cancellationToken: timeout.Token);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Deletes the namespace (everything in it goes with it) and waits until the API server no longer has it. Throws a
    /// <see cref="SandboxException"/> naming the namespace when it is still there after <paramref name="timeout"/>.
    /// </summary>
    internal static async Task DeleteNamespaceAsync(string ns, IKubernetes client, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var bound = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        V1Namespace? current = null;
        try
        {
            try
            {
                await client.CoreV1.DeleteNamespaceAsync(ns, new V1DeleteOptions { PropagationPolicy = "Background" }, cancellationToken: linked.Token);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                return;
            }

            while (true)
            {
                try
                {
                    current = await client.CoreV1.ReadNamespaceAsync(ns, cancellationToken: linked.Token);
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
                {
                    return;
                }

                await foreach (var (type, _) in client.CoreV1.WatchListNamespaceAsync(
                    fieldSelector: "metadata.name=" + ns, resourceVersion: current.Metadata.ResourceVersion, cancellationToken: linked.Token))
                {
                    if (type == WatchEventType.Deleted)
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var conditions = string.Join("; ", (current?.Status?.Conditions ?? []).Where(c => c.Status == "True").Select(c => $"{c.Type}: {c.Message}"));
            throw new SandboxException(
                $"namespace {ns} is still {current?.Status?.Phase ?? "there"} {timeout:c} after its deletion (Sandbox:Kubernetes:DeleteTimeout)"
                + (conditions.Length > 0 ? $" ({conditions})" : "") + $"; the janitor retries; to see why: kubectl describe namespace {ns}");
        }
        catch (HttpOperationException e)
        {
            throw new SandboxException($"namespace {ns} could not be deleted ({PodDiagnostics.Describe(e)})", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId}: PostgreSQL {Major} ({Image}) ready, forwarded to 127.0.0.1:{Port}")]
    private static partial void LogStarted(ILogger logger, string sandboxId, int major, string image, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId}: namespace deleted")]
    private static partial void LogDeleted(ILogger logger, string sandboxId);
}
