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
/// request), and pods run by <see cref="FakeKubelet"/> (phases, readiness, events, logs, port-forward). Every request is
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

    /// <summary>Completes when a watch on <paramref name="resource"/> (of the named object, when given) is open.</summary>
    public Task WhenWatched(string resource, string? name = null) => Store.WhenWatched(resource, name);

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

    private async Task GetAsync(HttpContext context, ObjectKey key)
    {
        if (Store.Get(key) is { } found)
        {
            await WriteJsonAsync(context, 200, found);
        }
        else
        {
            await NotFoundAsync(context, key);
        }
    }

    private async Task CreateAsync(HttpContext context, string resource, string ns)
    {
        var body = (await System.Text.Json.JsonSerializer.DeserializeAsync<JsonObject>(context.Request.Body, cancellationToken: context.RequestAborted))!;
        var metadata = body["metadata"] as JsonObject ?? [];
        body["metadata"] = metadata;
        var name = metadata["name"]?.GetValue<string>() ?? "";
        if (resource != "namespaces")
        {
            var owner = Store.Get(new ObjectKey("namespaces", "", ns));
            if (owner is null)
            {
                await WriteStatusAsync(context, 404, "NotFound", $"namespaces \"{ns}\" not found");
                return;
            }

            if (owner["status"]?["phase"]?.GetValue<string>() == "Terminating")
            {
                await WriteStatusAsync(context, 403, "Forbidden", $"{resource} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated");
                return;
            }

            metadata["namespace"] = ns;
        }

        if (!NameRegex().IsMatch(name))
        {
            await WriteStatusAsync(context, 422, "Invalid", $"{resource} \"{name}\" is invalid: metadata.name: Invalid value: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'");
            return;
        }

        Stamp(resource, body);
        if (resource == "namespaces")
        {
            body["status"] = new JsonObject { ["phase"] = "Active" };
        }

        if (resource == "pods")
        {
            body["status"] = new JsonObject { ["phase"] = "Pending" };
        }

        if (!Store.TryAdd(new ObjectKey(resource, ns, name), body, Time.GetUtcNow()))
        {
            await WriteStatusAsync(context, 409, "AlreadyExists", $"{resource} \"{name}\" already exists");
            return;
        }

        var created = Store.Get(new ObjectKey(resource, ns, name))!;
        await WriteJsonAsync(context, 201, created);
        if (resource == "pods")
        {
            _background.Add(Kubelet.RunPodAsync(ns, name, _stopping.Token));
        }
    }

    private async Task DeleteAsync(HttpContext context, ObjectKey key)
    {
        if (key.Resource != "namespaces")
        {
            if (key.Resource == "pods")
            {
                await Kubelet.StopPodAsync(key.Namespace, key.Name);
            }

            if (Store.Remove(key))
            {
                await WriteStatusAsync(context, 200, "", "deleted", "Success");
            }
            else
            {
                await NotFoundAsync(context, key);
            }

            return;
        }

        var terminating = Store.Update(key, ns =>
        {
            ns["metadata"]!["deletionTimestamp"] ??= Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            ns["status"] = new JsonObject { ["phase"] = "Terminating" };
        });
        if (!terminating)
        {
            await NotFoundAsync(context, key);
            return;
        }

        await WriteJsonAsync(context, 200, Store.Get(key)!);
        if (HoldNamespaceDeletion)
        {
            _heldNamespaces[key.Name] = true;
        }
        else
        {
            // The namespace controller works after the API call returns, as in a real cluster.
            _background.Add(Task.Run(() => FinalizeNamespaceAsync(key.Name)));
        }
    }

    /// <summary>Deletes everything in the namespace (stopping its pods), then the namespace.</summary>
    private async Task FinalizeNamespaceAsync(string ns)
    {
        foreach (var (resource, _) in Resources.Where(r => r.Key != "namespaces"))
        {
            foreach (var obj in Store.List(resource, ns))
            {
                var name = obj["metadata"]!["name"]!.GetValue<string>();
                if (resource == "pods")
                {
                    await Kubelet.StopPodAsync(ns, name);
                }

                Store.Remove(new ObjectKey(resource, ns, name));
            }
        }

        Store.Remove(new ObjectKey("namespaces", "", ns));
    }

    private async Task WatchAsync(HttpContext context, string resource, string ns)
    {
        var request = context.Request;
        long? from = long.TryParse(request.Query["resourceVersion"], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : null;
        var field = request.Query["fieldSelector"].ToString();
        var name = field.StartsWith("metadata.name=", StringComparison.Ordinal) ? field["metadata.name=".Length..] : null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        var events = Store.Watch(resource, resource == "namespaces" ? null : ns, name, Selector(request), from, stop.Token);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync(stop.Token);
        try
        {
            await foreach (var line in events.ReadAllAsync(stop.Token))
            {
                await context.Response.WriteAsync(line + "\n", stop.Token);
                await context.Response.Body.FlushAsync(stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // The client closed the watch or the server stops: the response simply ends.
        }
    }

    /// <summary>The label selector (<c>a=b</c>, <c>a!=b</c>, <c>a</c>, <c>!a</c>, comma-separated) and the metadata.name field selector.</summary>
    private static Func<JsonObject, bool> Selector(HttpRequest request)
    {
        var labels = request.Query["labelSelector"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var field = request.Query["fieldSelector"].ToString();
        var name = field.StartsWith("metadata.name=", StringComparison.Ordinal) ? field["metadata.name=".Length..] : null;
        return obj =>
        {
            var metadata = obj["metadata"]!;
            if (name is not null && metadata["name"]?.GetValue<string>() != name)
            {
                return false;
            }

            string? Label(string key) => (metadata["labels"] as JsonObject)?[key]?.GetValue<string>();
            return labels.All(term => term switch
            {
                _ when term.Contains("!=", StringComparison.Ordinal) => Label(term[..term.IndexOf("!=", StringComparison.Ordinal)]) != term[(term.IndexOf("!=", StringComparison.Ordinal) + 2)..],
                _ when term.Contains('=', StringComparison.Ordinal) => Label(term[..term.IndexOf('=', StringComparison.Ordinal)].TrimEnd('=')) == term[(term.LastIndexOf('=') + 1)..],
                _ when term.StartsWith('!') => Label(term[1..]) is null,
                _ => Label(term) is not null,
            });
        };
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
