using k8s;
using k8s.Autorest;
using k8s.Models;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging;

namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>
/// Deletes sandbox namespaces whose drill is over without them having gone (a worker that crashed or was killed): those
/// listed by <see cref="SandboxNamespace.Selector"/>, named with our prefix, whose expiry annotation has passed.
/// Unexpired namespaces (a drill may be running, on any replica) and namespaces of others (another prefix, no labels)
/// are never touched. It does not wait for deletions: the next sweep sees what is left.
/// A namespace "will not go away" (reported in <see cref="JanitorReport.Stuck"/> for the sandbox cleanup alert of its
/// target) when it is still there <c>Sandbox:Kubernetes:DeleteTimeout</c> after its deletion was requested (its
/// deletionTimestamp, by whoever requested it), or when the API server refuses or fails its delete.
/// </summary>
internal sealed partial class KubernetesSandboxJanitor(
    KubernetesSandboxOptions options, KubernetesClientConfiguration configuration, TimeProvider time, ILogger<KubernetesSandboxJanitor> logger) : ISandboxJanitor
{
    public async Task<JanitorReport> SweepAsync(CancellationToken cancellationToken)
    {
        List<string> removed = [], inUse = [], failed = [];
        List<StuckSandbox> stuck = [];
        using var client = new k8s.Kubernetes(configuration);
        V1NamespaceList namespaces;
        try
        {
            namespaces = await client.CoreV1.ListNamespaceAsync(labelSelector: SandboxNamespace.Selector, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            // The API server refused or cannot be reached: reported and logged; the next sweep tries again.
            var why = e is HttpOperationException h ? PodDiagnostics.Describe(h) : e.Message;
            failed.Add($"sandbox namespaces could not be listed ({why})");
            LogListFailed(logger, e, why);
            return new JanitorReport(removed, inUse, failed) { Incomplete = true };
        }

        var now = time.GetUtcNow();
        foreach (var ns in namespaces.Items.Where(n => n.Metadata.Name.StartsWith(options.NamespacePrefix + "-", StringComparison.Ordinal)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = ns.Metadata.Name;
            if (ns.Metadata.DeletionTimestamp is { } deleting)
            {
                var since = new DateTimeOffset(DateTime.SpecifyKind(deleting, DateTimeKind.Utc));
                if (now - since > options.DeleteTimeout)
                {
                    var problem = $"{name}: still {ns.Status?.Phase ?? "Terminating"} since {SandboxNamespace.FormatTime(since)}, more than "
                        + $"Sandbox:Kubernetes:DeleteTimeout {options.DeleteTimeout:c} after its deletion; see kubectl describe namespace {name} (finalizers, stuck resources)";
                    failed.Add(problem);
                    stuck.Add(new StuckSandbox(name, TargetOf(ns), problem));
                    LogStuck(logger, name, SandboxNamespace.FormatTime(since));
                }
                else
                {
                    inUse.Add(name);
                }

                continue;
            }

            var expiresAt = SandboxNamespace.ParseTime(Value(ns.Metadata.Annotations, SandboxNamespace.ExpiresAtAnnotation));
            if (expiresAt is null)
            {
                failed.Add($"{name}: no valid {SandboxNamespace.ExpiresAtAnnotation} annotation; left alone, delete it by hand when no drill uses it");
                continue;
            }

            if (expiresAt > now)
            {
                inUse.Add(name);
                continue;
            }

            try
            {
                await client.CoreV1.DeleteNamespaceAsync(name, new V1DeleteOptions { PropagationPolicy = "Background" }, cancellationToken: cancellationToken);
                removed.Add(name);
                LogRemoved(logger, name, Value(ns.Metadata.Labels, SandboxNamespace.DrillIdLabel) ?? "unknown", SandboxNamespace.FormatTime(expiresAt.Value));
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException)
            {
                // One namespace that cannot be deleted must not stop the sweep; it is reported and retried next time.
                var problem = $"{name}: could not be deleted ({(e is HttpOperationException h ? PodDiagnostics.Describe(h) : e.Message)})";
                failed.Add(problem);
                stuck.Add(new StuckSandbox(name, TargetOf(ns), problem));
                LogRemoveFailed(logger, e, name);
            }
        }

        return new JanitorReport(removed, inUse, failed) { Stuck = stuck };
    }

    /// <summary>The target's exact name (annotation); the label (possibly shortened) when the annotation is missing.</summary>
    private static string TargetOf(V1Namespace ns) =>
        Value(ns.Metadata.Annotations, SandboxNamespace.TargetNameAnnotation) ?? Value(ns.Metadata.Labels, SandboxNamespace.TargetLabel) ?? "";

    private static string? Value(IDictionary<string, string>? map, string key) => map is not null && map.TryGetValue(key, out var value) ? value : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleted sandbox namespace {SandboxId} left by drill {DrillId} (expired at {ExpiresAt})")]
    private static partial void LogRemoved(ILogger logger, string sandboxId, string drillId, string expiresAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not delete stale sandbox namespace {SandboxId}; it will be retried on the next sweep")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sandbox namespace {SandboxId} will not go away: its deletion was requested at {DeletionRequestedAt} and it is still there")]
    private static partial void LogStuck(ILogger logger, string sandboxId, string deletionRequestedAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not list sandbox namespaces: {Error}")]
    private static partial void LogListFailed(ILogger logger, Exception exception, string error);
}
