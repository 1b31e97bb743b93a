using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace BackupDr.TestSupport.Kubernetes;

/// <summary>The verbs of the fake API server: get, create, delete (with namespace finalization) and watch, and the selectors.</summary>
public sealed partial class FakeKubernetesApi
{
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

        if (resource == "deployments")
        {
            body["metadata"]!["generation"] = 1;
            body["status"] = new JsonObject { ["observedGeneration"] = 1, ["replicas"] = 0 };
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

        if (resource == "deployments")
        {
            // The deployment controller works after the API call returns, as in a real cluster.
            _background.Add(Task.Run(() => RunDeploymentAsync(ns, name, _stopping.Token)));
        }
    }

    /// <summary>
    /// The deployment and replica set controllers, for one replica: a pod from the template, named and owned as a
    /// ReplicaSet's pod is, run by the kubelet; the Deployment's status says one replica, not yet available.
    /// </summary>
    private async Task RunDeploymentAsync(string ns, string name, CancellationToken cancellationToken)
    {
        var deployment = Store.Get(new ObjectKey("deployments", ns, name));
        if (deployment is null)
        {
            return;
        }

        var template = deployment["spec"]!["template"]!;
        var replicaSet = $"{name}-{Guid.NewGuid().ToString("N")[..10]}";
        var podName = $"{replicaSet}-{Guid.NewGuid().ToString("N")[..5]}";
        var pod = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = podName,
                ["namespace"] = ns,
                ["labels"] = template["metadata"]?["labels"]?.DeepClone(),
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "apps/v1", ["kind"] = "ReplicaSet", ["name"] = replicaSet, ["controller"] = true,
                }),
            },
            ["spec"] = template["spec"]!.DeepClone(),
            ["status"] = new JsonObject { ["phase"] = "Pending" },
        };
        Stamp("pods", pod);
        if (!Store.TryAdd(new ObjectKey("pods", ns, podName), pod, Time.GetUtcNow()))
        {
            return;
        }

        Store.Update(new ObjectKey("deployments", ns, name), d => d["status"] = new JsonObject
        {
            ["observedGeneration"] = 1, ["replicas"] = 1, ["updatedReplicas"] = 1, ["unavailableReplicas"] = 1,
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "Progressing", ["status"] = "True", ["reason"] = "NewReplicaSetCreated", ["message"] = $"Created new replica set \"{replicaSet}\"" },
                new JsonObject { ["type"] = "Available", ["status"] = "False", ["reason"] = "MinimumReplicasUnavailable", ["message"] = "Deployment does not have minimum availability." }),
        });
        await Kubelet.RunPodAsync(ns, podName, cancellationToken);
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
        var events = Store.Watch(resource, resource == "namespaces" ? null : ns, name, request.Query["labelSelector"].ToString(), Selector(request), from, stop.Token);
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
}
