using System.Globalization;
using BackupDr.Repository.Configuration;
using k8s.Models;

namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>
/// The objects of one sandbox namespace, built from options only (pure, so tests can read them): the namespace, the
/// network policies, quota and limits, the server's password Secret and the PostgreSQL pod.
/// </summary>
internal static class SandboxManifests
{
    public const string PodName = "postgres";
    public const string ContainerName = "postgres";
    public const string SecretName = "postgres";
    public const string PasswordKey = "POSTGRES_PASSWORD";
    public const int PostgresPort = 5432;
    public const string Superuser = "postgres";

    /// <summary>The label that names a sandbox pod (selected by its Service and by readiness watches).</summary>
    public const string NameLabel = "app.kubernetes.io/name";

    /// <summary>
    /// Server settings on the command line (<c>-c name=value</c>): as the local sandbox, a restored copy can neither
    /// archive WAL into a production repository nor act as, or follow, a replica.
    /// </summary>
    public static IReadOnlyList<(string Name, string Value)> IsolationSettings { get; } =
    [
        ("archive_mode", "off"),
        ("archive_command", ""),
        ("restore_command", ""),
        ("wal_level", "minimal"),
        ("max_wal_senders", "0"),
        ("max_replication_slots", "0"),
        ("primary_conninfo", ""),
        ("hot_standby", "off"),
    ];

    public static V1Namespace Namespace(string name, SandboxRequest request, DateTimeOffset expiresAt) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = SandboxNamespace.Labels(request),
            Annotations = SandboxNamespace.Annotations(request, expiresAt),
        },
    };

    /// <summary>
    /// Default deny in both directions for every pod, then: anything inside the namespace, DNS to kube-dns, and the
    /// configured repository egress. The worker's port-forward enters through the kubelet, not the pod network, so no
    /// ingress from outside the namespace is ever needed.
    /// </summary>
    public static IReadOnlyList<V1NetworkPolicy> NetworkPolicies(string ns, KubernetesSandboxOptions options)
    {
        var everyPod = new V1LabelSelector();
        var inNamespace = new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector() };
        var policies = new List<V1NetworkPolicy>
        {
            Policy(ns, "default-deny", new V1NetworkPolicySpec { PodSelector = everyPod, PolicyTypes = ["Ingress", "Egress"] }),
            Policy(ns, "allow-same-namespace", new V1NetworkPolicySpec
            {
                PodSelector = everyPod,
                PolicyTypes = ["Ingress", "Egress"],
                Ingress = [new V1NetworkPolicyIngressRule { FromProperty = [inNamespace] }],
                Egress = [new V1NetworkPolicyEgressRule { To = [inNamespace] }],
            }),
            Policy(ns, "allow-dns", new V1NetworkPolicySpec
            {
                PodSelector = everyPod,
                PolicyTypes = ["Egress"],
                Egress =
                [
                    new V1NetworkPolicyEgressRule
                    {
                        To =
                        [
                            new V1NetworkPolicyPeer
                            {
                                NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = "kube-system" } },
                                PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["k8s-app"] = "kube-dns" } },
                            },
                        ],
                        Ports = [new V1NetworkPolicyPort { Protocol = "UDP", Port = 53 }, new V1NetworkPolicyPort { Protocol = "TCP", Port = 53 }],
                    },
                ],
            }),
        };
        if (options.RepositoryEgress.Count > 0)
        {
            policies.Add(Policy(ns, "allow-repository-egress", new V1NetworkPolicySpec
            {
                PodSelector = everyPod,
                PolicyTypes = ["Egress"],
                Egress = options.RepositoryEgress.Select(rule => new V1NetworkPolicyEgressRule
                {
                    To = rule.Cidrs.Select(cidr => new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = cidr } }).ToList(),
                    Ports = rule.Ports.Select(port => new V1NetworkPolicyPort { Protocol = "TCP", Port = port }).ToList(),
                }).ToList(),
            }));
        }

        return policies;
    }

    /// <summary>
    /// The tier's limits as the namespace's totals, plus the Odoo container's own when the sandbox runs Odoo
    /// (<paramref name="odoo"/>); no services that leave the cluster, no volumes that outlive it.
    /// </summary>
    public static V1ResourceQuota Quota(string ns, TierSandboxOptions limits, KubernetesOdooOptions? odoo = null)
    {
        var cpu = limits.CpuMillicores + (odoo?.CpuMillicores ?? 0);
        var memory = limits.MemoryBytes + (odoo?.MemoryBytes ?? 0);
        var storage = limits.StorageBytes + (odoo?.StorageBytes ?? 0);
        return new V1ResourceQuota
        {
            Metadata = Meta(ns, "sandbox"),
            Spec = new V1ResourceQuotaSpec
            {
                Hard = new Dictionary<string, ResourceQuantity>
                {
                    ["requests.cpu"] = Millicores(cpu),
                    ["limits.cpu"] = Millicores(cpu),
                    ["requests.memory"] = Bytes(memory),
                    ["limits.memory"] = Bytes(memory),
                    ["requests.ephemeral-storage"] = Bytes(storage),
                    ["limits.ephemeral-storage"] = Bytes(storage),
                    ["pods"] = new ResourceQuantity("4"),
                    ["persistentvolumeclaims"] = new ResourceQuantity("0"),
                    ["services.loadbalancers"] = new ResourceQuantity("0"),
                    ["services.nodeports"] = new ResourceQuantity("0"),
                },
            },
        };
    }

    /// <summary>
    /// Per container: at most the tier's limits (or the Odoo container's, where larger), and the tier's limits by default
    /// (a container without resources still fits the quota).
    /// </summary>
    public static V1LimitRange LimitRange(string ns, TierSandboxOptions limits, KubernetesOdooOptions? odoo = null)
    {
        var defaults = Resources(limits.CpuMillicores, limits.MemoryBytes, limits.StorageBytes);
        var max = Resources(
            Math.Max(limits.CpuMillicores, odoo?.CpuMillicores ?? 0),
            Math.Max(limits.MemoryBytes, odoo?.MemoryBytes ?? 0),
            Math.Max(limits.StorageBytes, odoo?.StorageBytes ?? 0));
        return new V1LimitRange
        {
            Metadata = Meta(ns, "sandbox"),
            Spec = new V1LimitRangeSpec
            {
                Limits = [new V1LimitRangeItem { Type = "Container", Max = max, DefaultProperty = defaults, DefaultRequest = defaults }],
            },
        };
    }

    /// <summary>The server's superuser password and, when the sandbox runs Odoo, the password of Odoo's own database role.</summary>
    public static V1Secret PasswordSecret(string ns, string password, string? odooPassword = null)
    {
        var data = new Dictionary<string, string> { [PasswordKey] = password };
        if (odooPassword is not null)
        {
            data[OdooManifests.PasswordKey] = odooPassword;
        }

        return new V1Secret { Metadata = Meta(ns, SecretName), Type = "Opaque", StringData = data };
    }

    /// <summary>
    /// The sandbox server: the image of the backup's major, never restarted (a crash fails the drill, with its logs),
    /// non-root with a read-only root filesystem, no service account token, its data in an emptyDir sized by the tier,
    /// and a memory-backed <c>/dev/shm</c>.
    /// Ready when <c>pg_isready</c> answers on 127.0.0.1, which the image's entrypoint only allows once initialization is over.
    /// </summary>
    public static V1Pod PostgresPod(string ns, string image, TierSandboxOptions limits, KubernetesSandboxOptions options, string drillId)
    {
        var resources = Resources(limits.CpuMillicores, limits.MemoryBytes, limits.StorageBytes);
        var arguments = new List<string>();
        foreach (var (name, value) in IsolationSettings)
        {
            arguments.Add("-c");
            arguments.Add($"{name}={value}");
        }

        return new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = PodName,
                NamespaceProperty = ns,
                Labels = PodLabels("postgres", drillId),
            },
            Spec = new V1PodSpec
            {
                RestartPolicy = "Never",
                AutomountServiceAccountToken = false,
                EnableServiceLinks = false,
                ImagePullSecrets = ImagePullSecrets(options),
                SecurityContext = PodSecurity(options.RunAsUser),
                Containers =
                [
                    new V1Container
                    {
                        Name = ContainerName,
                        Image = image,
                        Args = arguments,
                        Ports = [new V1ContainerPort { Name = "postgres", ContainerPort = PostgresPort, Protocol = "TCP" }],
                        Env =
                        [
                            new V1EnvVar
                            {
                                Name = PasswordKey,
                                ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = SecretName, Key = PasswordKey } },
                            },
                            new V1EnvVar { Name = "POSTGRES_USER", Value = Superuser },
                            new V1EnvVar { Name = "PGDATA", Value = "/var/lib/postgresql/data/pgdata" },
                            // No data checksums, as in a local sandbox: the probes' first read of the copy would write it to the WAL again.
                            new V1EnvVar { Name = "POSTGRES_INITDB_ARGS", Value = "--locale=C.UTF-8" },
                        ],
                        Resources = new V1ResourceRequirements { Limits = resources, Requests = resources },
                        ReadinessProbe = new V1Probe
                        {
                            Exec = new V1ExecAction { Command = ["pg_isready", "-U", Superuser, "-h", "127.0.0.1", "-p", PostgresPort.ToString(CultureInfo.InvariantCulture)] },
                            PeriodSeconds = 2,
                            FailureThreshold = 3,
                        },
                        SecurityContext = ContainerSecurity(),
                        VolumeMounts =
                        [
                            new V1VolumeMount { Name = "data", MountPath = "/var/lib/postgresql/data" },
                            new V1VolumeMount { Name = "run", MountPath = "/var/run/postgresql" },
                            new V1VolumeMount { Name = "tmp", MountPath = "/tmp" },
                            new V1VolumeMount { Name = "shm", MountPath = "/dev/shm" },
                        ],
                    },
                ],
                Volumes =
                [
                    new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = Bytes(limits.StorageBytes) } },
                    new V1Volume { Name = "run", EmptyDir = new V1EmptyDirVolumeSource() },
                    new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() },

                    // A container's default /dev/shm (64 MiB) is too small for parallel restores and index builds, which
                    // use dynamic shared memory; a memory-backed one counts against the memory limit, so a quarter of it.
                    new V1Volume { Name = "shm", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = Bytes(limits.MemoryBytes / 4) } },
                ],
            },
        };
    }

    private static V1NetworkPolicy Policy(string ns, string name, V1NetworkPolicySpec spec) => new() { Metadata = Meta(ns, name), Spec = spec };

    internal static V1ObjectMeta Meta(string ns, string name) => new()
    {
        Name = name,
        NamespaceProperty = ns,
        Labels = new Dictionary<string, string> { [SandboxNamespace.ManagedByLabel] = SandboxNamespace.ManagedByValue },
    };

    /// <summary>A sandbox pod's labels: its name (what Services and watches select), the manager and the drill.</summary>
    internal static Dictionary<string, string> PodLabels(string name, string drillId) => new()
    {
        [NameLabel] = name,
        [SandboxNamespace.ManagedByLabel] = SandboxNamespace.ManagedByValue,
        [SandboxNamespace.DrillIdLabel] = SandboxNamespace.LabelValue(drillId, 63),
    };

    /// <summary>
    /// CPU, memory and ephemeral storage as quantities: a container's requests and limits (equal, as the quota requires
    /// both, so the pod's share is fixed), or a limit range's defaults and maximum.
    /// </summary>
    internal static Dictionary<string, ResourceQuantity> Resources(int cpuMillicores, long memoryBytes, long storageBytes) => new()
    {
        ["cpu"] = Millicores(cpuMillicores),
        ["memory"] = Bytes(memoryBytes),
        ["ephemeral-storage"] = Bytes(storageBytes),
    };

    internal static List<V1LocalObjectReference> ImagePullSecrets(KubernetesSandboxOptions options) =>
        options.ImagePullSecrets.Select(s => new V1LocalObjectReference { Name = s }).ToList();

    /// <summary>Every sandbox pod: non-root as <paramref name="runAsUser"/> (its group too, and the volumes'), the runtime's seccomp profile.</summary>
    internal static V1PodSecurityContext PodSecurity(long runAsUser) => new()
    {
        RunAsNonRoot = true,
        RunAsUser = runAsUser,
        RunAsGroup = runAsUser,
        FsGroup = runAsUser,
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };

    /// <summary>Every sandbox container: no privilege escalation, a read-only root, no capabilities.</summary>
    internal static V1SecurityContext ContainerSecurity() => new()
    {
        AllowPrivilegeEscalation = false,
        ReadOnlyRootFilesystem = true,
        RunAsNonRoot = true,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
    };

    internal static ResourceQuantity Millicores(int millicores) => new(millicores.ToString(CultureInfo.InvariantCulture) + "m");

    /// <summary>Bytes as a quantity in the binary unit operators read in <c>kubectl describe</c> (Gi, Mi) when it is exact.</summary>
    internal static ResourceQuantity Bytes(long bytes) => new(bytes switch
    {
        _ when bytes % (1L << 30) == 0 => (bytes >> 30).ToString(CultureInfo.InvariantCulture) + "Gi",
        _ when bytes % (1L << 20) == 0 => (bytes >> 20).ToString(CultureInfo.InvariantCulture) + "Mi",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    });
}
