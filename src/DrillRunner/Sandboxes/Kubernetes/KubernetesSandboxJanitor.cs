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
/// are never touched. A namespace still Terminating longer than the delete timeout after its deletion is reported as a
/// failure. It does not wait for deletions: the next sweep sees what is left.
/// </summary>
internal sealed partial class KubernetesSandboxJanitor(
    KubernetesSandboxOptions options, KubernetesClientConfiguration configuration, TimeProvider time, ILogger<KubernetesSandboxJanitor> logger) : ISandboxJanitor
{
    public async Task<JanitorReport> SweepAsync(CancellationToken cancellationToken)
    {
        List<string> removed = [], inUse = [], failed = [];
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
            return new JanitorReport(removed, inUse, failed);
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
                    failed.Add($"{name}: still {ns.Status?.Phase ?? "Terminating"} since {SandboxNamespace.FormatTime(since)}; see kubectl describe namespace {name}");
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
                failed.Add($"{name}: could not be deleted ({(e is HttpOperationException h ? PodDiagnostics.Describe(h) : e.Message)})");
                LogRemoveFailed(logger, e, name);
            }
        }

        return new JanitorReport(removed, inUse, failed);
    }

    private static string? Value(IDictionary<string, string>? map, string key) => map is not null && map.TryGetValue(key, out var value) ? value : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleted sandbox namespace {SandboxId} left by drill {DrillId} (expired at {ExpiresAt})")]
    private static partial void LogRemoved(ILogger logger, string sandboxId, string drillId, string expiresAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not delete stale sandbox namespace {SandboxId}; it will be retried on the next sweep")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception, string sandboxId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not list sandbox namespaces: {Error}")]
    private static partial void LogListFailed(ILogger logger, Exception exception, string error);
}
