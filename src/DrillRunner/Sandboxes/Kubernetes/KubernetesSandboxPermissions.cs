namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>One RBAC rule: an API group (empty for the core group), a resource (or <c>resource/subresource</c>) and verbs.</summary>
internal sealed record KubernetesPermission(string ApiGroup, string Resource, IReadOnlyList<string> Verbs);

/// <summary>
/// Every Kubernetes API call the sandbox kind and its janitor make, as RBAC rules: the single source of truth for the
/// Helm chart's ClusterRole (a test compares the rendered chart with this list) and for the fake API server's test that
/// the whole lifecycle used nothing else. Namespaces are cluster-scoped, so the rules need a ClusterRole; everything
/// else is created only inside the drill's own namespace. No wildcard, no secrets read, no update or patch.
/// </summary>
internal static class KubernetesSandboxPermissions
{
    public static IReadOnlyList<KubernetesPermission> Required { get; } =
    [
        // Create the drill namespace, watch it go after delete, and let the janitor list and delete expired ones.
        new("", "namespaces", ["create", "get", "list", "watch", "delete"]),

        // The PostgreSQL pod: created, watched until ready, read at teardown for diagnostics; the Odoo pod, made by its
        // Deployment: watched and listed by label until ready, and at teardown.
        new("", "pods", ["create", "get", "list", "watch"]),

        // The last log lines of a failing pod go into the drill record.
        new("", "pods/log", ["get"]),

        // The worker reaches the sandbox server through the API server (WebSocket upgrade: authorized as get, and as
        // create by API servers that check AuthorizePodWebsocketUpgradeCreatePermission).
        new("", "pods/portforward", ["get", "create"]),

        // The sandbox server's password, generated per drill; never read back.
        new("", "secrets", ["create"]),

        // Quota and per-container limits from the tier.
        new("", "resourcequotas", ["create"]),
        new("", "limitranges", ["create"]),

        // Why a pod did not become ready.
        new("", "events", ["list"]),

        // The optional Odoo server (Sandbox:Kubernetes:Odoo): Services in front of PostgreSQL and Odoo, and its
        // Deployment, read back only for the record when its pod does not become ready.
        new("", "services", ["create"]),
        new("apps", "deployments", ["create", "get"]),

        // Default deny, plus DNS, the namespace itself and the configured repository egress.
        new("networking.k8s.io", "networkpolicies", ["create"]),
    ];

    /// <summary>True when <paramref name="verb"/> on the resource is in <see cref="Required"/>.</summary>
    public static bool Allows(string apiGroup, string resource, string verb) =>
        Required.Any(p => p.ApiGroup == apiGroup && p.Resource == resource && p.Verbs.Contains(verb));
}
