using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BackupDr.TestSupport.Kubernetes;

/// <summary>One API request as the fake authorizes it: verb, API group (empty for core) and resource (with subresource).</summary>
/// <param name="User">The bearer token the client sent (tests inspect with a token of their own, so their reads stay apart).</param>
public readonly record struct ServedRequest(string Verb, string Group, string Resource, string User);

/// <summary>
/// An in-process Kubernetes API server over HTTP on 127.0.0.1 that the real KubernetesClient talks to: create, get,
/// list, watch (also from a resource version) and delete of namespaces and namespaced objects, label and field
/// selectors, Status errors as the API server writes them, namespace finalization (Terminating, then gone; held on
/// request), apps/v1 Deployments (one pod from the template, as their controllers would make it), Services (stored
/// only), and pods run by <see cref="FakeKubelet"/> (phases, readiness, events, logs, port-forward). Every request is
/// recorded as (verb, group, resource) so a test can compare it with the RBAC rules the product declares.
/// </summary>
public sealed partial class FakeKubernetesApi : IAsyncDisposable
{
    private static readonly Dictionary<string, (string Group, string Kind)> Resources = new()
    {
        ["namespaces"] = ("", "Namespace"),
        ["pods"] = ("", "Pod"),
        ["events"] = ("", "Event"),
        ["secrets"] = ("", "Secret"),
        ["resourcequotas"] = ("", "ResourceQuota"),
        ["limitranges"] = ("", "LimitRange"),
        ["services"] = ("", "Service"),
        ["networkpolicies"] = ("networking.k8s.io", "NetworkPolicy"),
        ["deployments"] = ("apps", "Deployment"),
    };

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ServedRequest> _served = new();
    private readonly ConcurrentDictionary<(string Verb, string Resource), (int Status, string Message)> _refusals = new();
    private readonly ConcurrentDictionary<string, bool> _heldNamespaces = new();
    private readonly ConcurrentBag<Task> _background = [];
    private readonly CancellationTokenSource _stopping = new();

    private FakeKubernetesApi(WebApplication app, TimeProvider time)
    {
        _app = app;
        Time = time;
        Kubelet = new FakeKubelet(this);
    }

    internal FakeResourceStore Store { get; } = new();

    internal TimeProvider Time { get; }

    public FakeKubelet Kubelet { get; }

    public Uri Url { get; private set; } = null!;

    /// <summary>Every request served, in order.</summary>
    public IReadOnlyList<ServedRequest> Served => [.. _served];

    /// <summary>While true, a deleted namespace stays Terminating (a finalizer that never finishes) until <see cref="ReleaseNamespacesAsync"/>.</summary>
    public bool HoldNamespaceDeletion { get; set; }

    public static async Task<FakeKubernetesApi> StartAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var api = new FakeKubernetesApi(app, time);
        app.UseWebSockets();
        app.Run(api.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        api.Url = new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal));
        return api;
    }

    /// <summary>A kubeconfig file pointing at this server (context <c>fake</c>; the token only names the user in <see cref="Served"/>).</summary>
    public string WriteKubeconfig(string folder, string token = "fake-token")
    {
        var path = Path.Combine(folder, $"kubeconfig-{token}.yaml");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Url.ToString().TrimEnd('/')}
            users:
            - name: fake
              user:
                token: {token}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
            current-context: fake
            """);
        return path;
    }

    /// <summary>Answers <paramref name="verb"/> on <paramref name="resource"/> with an error Status (403 Forbidden by default).</summary>
    public void Refuse(string verb, string resource, int status = 403, string? message = null) =>
        _refusals[(verb, resource)] = (status, message ?? $"{resource} is forbidden: User \"system:serviceaccount:backupdr:backupdr\" cannot {verb} resource \"{resource}\"");

    /// <summary>Stops refusing <paramref name="verb"/> on <paramref name="resource"/> (the permission was granted after all).</summary>
    public void Allow(string verb, string resource) => _refusals.TryRemove((verb, resource), out _);

    /// <summary>Finishes the deletion of every namespace held Terminating.</summary>
    public async Task ReleaseNamespacesAsync()
    {
        HoldNamespaceDeletion = false;
        foreach (var ns in _heldNamespaces.Keys)
        {
            _heldNamespaces.TryRemove(ns, out _);
            await FinalizeNamespaceAsync(ns);
        }
    }

    /// <summary>Completes when a watch on <paramref name="resource"/> (of the named object, or with the label selector, when given) is open.</summary>
    public Task WhenWatched(string resource, string? name = null, string? labelSelector = null) => Store.WhenWatched(resource, name, labelSelector);

    /// <summary>Objects of <paramref name="resource"/> as stored (in <paramref name="ns"/>, or everywhere when null).</summary>
    public IReadOnlyList<JsonObject> Objects(string resource, string? ns = null) => Store.List(resource, ns);

    /// <summary>Stores an object as a client would create it (for janitor tests: namespaces of other drills and of others).</summary>
    public void Seed(string resource, string ns, JsonObject obj)
    {
        var name = obj["metadata"]!["name"]!.GetValue<string>();
        Stamp(resource, obj);
        Store.TryAdd(new ObjectKey(resource, ns, name), obj, Time.GetUtcNow());
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var segments = request.Path.Value!.Trim('/').Split('/');
        string group;
        string[] rest;
        if (segments is ["api", "v1", ..])
        {
            (group, rest) = ("", segments[2..]);
        }
        else if (segments is ["apis", _, _, ..])
        {
            (group, rest) = (segments[1], segments[3..]);
        }
        else
        {
            await WriteStatusAsync(context, 404, "NotFound", $"the server could not find the requested resource ({request.Path})");
            return;
        }

        // namespaces | namespaces/NAME | namespaces/NS/RESOURCE | namespaces/NS/RESOURCE/NAME | .../NAME/SUBRESOURCE
        var (resource, ns, name, sub) = rest switch
        {
            [var r] => (r, "", (string?)null, (string?)null),
            ["namespaces", var n] => ("namespaces", "", n, null),
            ["namespaces", var n, var r] => (r, n, null, null),
            ["namespaces", var n, var r, var o] => (r, n, o, null),
            ["namespaces", var n, var r, var o, var s] => (r, n, o, s),
            _ => ("", "", null, null),
        };
        if (!Resources.TryGetValue(resource, out var known) || known.Group != group)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"the server could not find the requested resource ({request.Path})");
            return;
        }

        var watch = request.Query["watch"].Any(v => v is "true" or "1");
        var verb = (request.Method, name, sub, watch) switch
        {
            ("GET", _, "portforward", _) => "create",
            ("GET", null, _, true) => "watch",
            ("GET", null, _, _) => "list",
            ("GET", _, _, _) => "get",
            ("POST", _, _, _) => "create",
            ("DELETE", _, _, _) => "delete",
            ("PUT", _, _, _) => "update",
            _ => "patch",
        };
        var fullResource = sub is null ? resource : $"{resource}/{sub}";
        var user = request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal);
        _served.Enqueue(new ServedRequest(verb, group, fullResource, user));
        if (_refusals.TryGetValue((verb, fullResource), out var refusal))
        {
            await WriteStatusAsync(context, refusal.Status, refusal.Status == 403 ? "Forbidden" : "InternalError", refusal.Message);
            return;
        }

        switch (verb, sub)
        {
            case ("create", "portforward"):
                await Kubelet.PortForwardAsync(context, ns, name!, _stopping.Token);
                break;
            case ("get", "log"):
                await Kubelet.WriteLogAsync(context, ns, name!);
                break;
            case ("watch", _):
                await WatchAsync(context, resource, ns);
                break;
            case ("list", _):
                await WriteJsonAsync(context, 200, new JsonObject
                {
                    ["kind"] = known.Kind + "List",
                    ["apiVersion"] = ApiVersion(group),
                    ["metadata"] = new JsonObject { ["resourceVersion"] = Store.Version.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray([.. Store.List(resource, resource == "namespaces" ? null : ns, Selector(request))]),
                });
                break;
            case ("get", _):
                await GetAsync(context, new ObjectKey(resource, ns, name!));
                break;
            case ("create", _):
                await CreateAsync(context, resource, ns);
                break;
            case ("delete", _):
                await DeleteAsync(context, new ObjectKey(resource, ns, name!));
                break;
            default:
                await WriteStatusAsync(context, 405, "MethodNotAllowed", $"{verb} is not supported by the fake API server");
                break;
        }
    }

    private static void Stamp(string resource, JsonObject obj)
    {
        var (group, kind) = Resources[resource];
        obj["kind"] = kind;
        obj["apiVersion"] = ApiVersion(group);
    }

    private static string ApiVersion(string group) => group.Length == 0 ? "v1" : group + "/v1";

    private static Task NotFoundAsync(HttpContext context, ObjectKey key) =>
        WriteStatusAsync(context, 404, "NotFound", $"{key.Resource} \"{key.Name}\" not found");

    internal static Task WriteStatusAsync(HttpContext context, int code, string reason, string message, string status = "Failure") =>
        WriteJsonAsync(context, code, new JsonObject
        {
            ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = status,
            ["message"] = message, ["reason"] = reason, ["code"] = code,
        });

    private static async Task WriteJsonAsync(HttpContext context, int code, JsonObject body)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(body.ToJsonString()), context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync(CancellationToken.None);
        await Task.WhenAll(_background).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Kubelet.DisposeAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")]
    private static partial System.Text.RegularExpressions.Regex NameRegex();
}
