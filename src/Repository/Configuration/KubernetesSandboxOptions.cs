namespace BackupDr.Repository.Configuration;

/// <summary>
/// <c>Sandbox:Kubernetes</c>: where and how a drill gets a namespace of its own (see docs/architecture.md,
/// "Kubernetes sandboxes").
/// </summary>
public sealed record KubernetesSandboxOptions
{
    /// <summary>
    /// A kubeconfig file; empty uses the in-cluster service account when running in a pod, else the usual
    /// <c>KUBECONFIG</c> / <c>~/.kube/config</c>.
    /// </summary>
    public string Kubeconfig { get; init; } = "";

    /// <summary>The kubeconfig context; empty uses the file's current context.</summary>
    public string Context { get; init; } = "";

    /// <summary>The first part of every sandbox namespace's name (a DNS label of at most 20 characters).</summary>
    public string NamespacePrefix { get; init; } = "backupdr-drill";

    /// <summary>The PostgreSQL server image per major version (<c>"15": "postgres:15.8"</c>); a backup of another major cannot be drilled.</summary>
    public IReadOnlyDictionary<int, string> PostgresImages { get; init; } = new Dictionary<int, string>();

    /// <summary>How long the PostgreSQL pod (and the Odoo deployment) may take to become ready.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long teardown waits for the namespace to be gone before it reports a cleanup failure.</summary>
    public TimeSpan DeleteTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A sandbox namespace is annotated with its creation time plus this; the janitor deletes namespaces past it (a
    /// drill whose process crashed). Longer than the longest drill.
    /// </summary>
    public TimeSpan Expiry { get; init; } = TimeSpan.FromHours(12);

    /// <summary>Egress the sandbox pods may have besides DNS and their own namespace (none by default: the worker downloads).</summary>
    public IReadOnlyList<EgressRuleOptions> RepositoryEgress { get; init; } = [];

    /// <summary>Names of image pull secrets, copied from the worker's namespace by the operator; referenced by the sandbox pods.</summary>
    public IReadOnlyList<string> ImagePullSecrets { get; init; } = [];

    /// <summary>The numeric user (and group) the PostgreSQL container runs as (999 in the official postgres image).</summary>
    public long RunAsUser { get; init; } = 999;

    /// <summary>An Odoo server the sandbox runs on the restored copy for the HTTP and XML-RPC probes; off while its image is empty.</summary>
    public KubernetesOdooOptions Odoo { get; init; } = new();
}

/// <summary>
/// <c>Sandbox:Kubernetes:Odoo</c>: the Odoo Deployment a sandbox starts, once the copy is restored and neutralized, for
/// targets whose <c>Drill:Odoo</c> has no <c>Url</c> of its own. Its resources come on top of the tier's (which are the
/// PostgreSQL server's) in the namespace's quota.
/// </summary>
public sealed record KubernetesOdooOptions
{
    /// <summary>
    /// The Odoo image (the official <c>odoo:17.0</c> understands HOST, PORT, USER, PASSWORD) for a backup whose Odoo series
    /// has no entry in <see cref="Images"/>; empty, with no <see cref="Images"/>: no Odoo in sandboxes.
    /// </summary>
    public string Image { get; init; } = "";

    /// <summary>
    /// Images by Odoo series (<c>16.0</c>, <c>17.0</c>, <c>saas~17.2</c>), for a fleet that runs several: a drill starts
    /// the image of its backup's series (the <c>base</c> module's version, recorded in the manifest).
    /// </summary>
    public IReadOnlyDictionary<string, string> Images { get; init; } = NoImages;

    /// <summary>The empty <see cref="Images"/>, one instance, so that options without images compare equal.</summary>
    public static IReadOnlyDictionary<string, string> NoImages { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The port Odoo's HTTP server listens on in the container (8069 in the official image).</summary>
    public int Port { get; init; } = 8069;

    public int CpuMillicores { get; init; } = 1000;

    public long MemoryBytes { get; init; } = 1L << 30;

    /// <summary>Ephemeral storage for Odoo's data folder (sessions, regenerated assets) and <c>/tmp</c>.</summary>
    public long StorageBytes { get; init; } = 1L << 30;

    /// <summary>The numeric user (and group) the Odoo container runs as (101, <c>odoo</c>, in the official image).</summary>
    public long RunAsUser { get; init; } = 101;

    public bool Enabled => Image.Length > 0 || Images.Count > 0;

    /// <summary>The image for a backup of Odoo <paramref name="odooVersion"/> (e.g. <c>17.0.1.3</c>), or null when none fits.</summary>
    public string? ImageFor(string? odooVersion) =>
        Series(odooVersion) is { } series && Images.TryGetValue(series, out var image) ? image
        : Image.Length > 0 ? Image
        : null;

    /// <summary>The series of an Odoo module version: its first two parts (<c>17.0.1.3</c> is <c>17.0</c>), or null.</summary>
    public static string? Series(string? odooVersion) =>
        odooVersion?.Split('.') is [var major, var minor, ..] && major.Length > 0 && minor.Length > 0 ? $"{major}.{minor}" : null;
}

/// <summary>One allowed egress destination: address blocks and TCP ports.</summary>
public sealed record EgressRuleOptions
{
    public IReadOnlyList<string> Cidrs { get; init; } = [];

    public IReadOnlyList<int> Ports { get; init; } = [];
}

/// <summary>
/// <c>Tiers:&lt;tier&gt;:Sandbox</c>: what one drill sandbox may use. For Kubernetes sandboxes these become the
/// namespace's ResourceQuota (the totals) and LimitRange (the per-container defaults and maximums).
/// </summary>
public sealed record TierSandboxOptions
{
    public int CpuMillicores { get; init; } = 2000;

    public long MemoryBytes { get; init; } = 4L << 30;

    /// <summary>Ephemeral storage for the restored database (the PostgreSQL data folder is an emptyDir of this size).</summary>
    public long StorageBytes { get; init; } = 20L << 30;
}
