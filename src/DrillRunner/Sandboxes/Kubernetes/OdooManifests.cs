using System.Globalization;
using System.Text.RegularExpressions;
using BackupDr.Repository.Configuration;
using k8s.Models;

namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>
/// The objects of a sandbox's Odoo server (pure, like <see cref="SandboxManifests"/>): a Service in front of the
/// PostgreSQL pod (the name Odoo connects to), the Odoo Deployment and its Service. Odoo connects as a role of its own
/// (<see cref="DatabaseRole"/>): Odoo refuses to run as <c>postgres</c>.
/// </summary>
internal static class OdooManifests
{
    public const string Name = "odoo";
    public const string ContainerName = "odoo";

    /// <summary>The Secret key of the Odoo role's password (in the sandbox's <see cref="SandboxManifests.SecretName"/> Secret).</summary>
    public const string PasswordKey = "ODOO_DB_PASSWORD";

    /// <summary>The database role Odoo connects as, made by the sandbox on the restored copy.</summary>
    public const string DatabaseRole = "odoo";

    /// <summary>The Service in front of the PostgreSQL pod: Odoo's HOST.</summary>
    public const string PostgresServiceName = "postgres";

    /// <summary>What selects the Odoo pods (the Deployment's selector and the readiness watch).</summary>
    public static string PodSelector => SandboxManifests.NameLabel + "=" + Name;

    /// <summary>Where Odoo answers inside the namespace (the copy's <c>web.base.url</c>).</summary>
    public static string InternalUrl(string ns, KubernetesOdooOptions odoo) =>
        string.Create(CultureInfo.InvariantCulture, $"http://{Name}.{ns}.svc:{odoo.Port}");

    /// <summary>A ClusterIP Service for the PostgreSQL pod (no node port, no load balancer: the quota forbids them).</summary>
    public static V1Service PostgresService(string ns) => Service(ns, PostgresServiceName, "postgres", SandboxManifests.PostgresPort);

    public static V1Service OdooService(string ns, KubernetesOdooOptions odoo) => Service(ns, Name, Name, odoo.Port);

    /// <summary>
    /// One Odoo replica (Recreate: never two at once) on the restored <paramref name="database"/>, connected to the
    /// sandbox's PostgreSQL through its Service with the official image's variables (HOST, PORT, USER, PASSWORD). Only
    /// that database is served (<c>--database</c>, <c>--db-filter</c>, no database list) and no scheduled action runs
    /// (<c>--max-cron-threads=0</c>, on top of neutralization). Non-root, no privilege escalation, read-only root with
    /// emptyDirs for Odoo's data folder and <c>/tmp</c>, no service account token; ready once <c>/web/login</c> answers.
    /// </summary>
    public static V1Deployment Deployment(string ns, string database, KubernetesOdooOptions odoo, KubernetesSandboxOptions options, string drillId)
    {
        var labels = SandboxManifests.PodLabels(Name, drillId);
        var resources = SandboxManifests.Resources(odoo.CpuMillicores, odoo.MemoryBytes, odoo.StorageBytes);
        var port = odoo.Port.ToString(CultureInfo.InvariantCulture);
        var metadata = SandboxManifests.Meta(ns, Name);
        metadata.Labels = new Dictionary<string, string>(labels);
        return new V1Deployment
        {
            Metadata = metadata,
            Spec = new V1DeploymentSpec
            {
                Replicas = 1,
                RevisionHistoryLimit = 0,
                Strategy = new V1DeploymentStrategy { Type = "Recreate" },
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [SandboxManifests.NameLabel] = Name } },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        AutomountServiceAccountToken = false,
                        EnableServiceLinks = false,
                        ImagePullSecrets = SandboxManifests.ImagePullSecrets(options),
                        SecurityContext = SandboxManifests.PodSecurity(odoo.RunAsUser),
                        Containers =
                        [
                            new V1Container
                            {
                                Name = ContainerName,
                                Image = odoo.Image,

                                // The official image's entrypoint waits for PostgreSQL, then runs odoo with these
                                // arguments and --db_host/--db_port/--db_user/--db_password from the variables below.
                                Args =
                                [
                                    "--database=" + database,
                                    "--db-filter=^" + Regex.Escape(database) + "$",
                                    "--no-database-list",
                                    "--max-cron-threads=0",
                                    "--http-port=" + port,
                                    "--data-dir=/var/lib/odoo",
                                ],
                                Ports = [new V1ContainerPort { Name = "http", ContainerPort = odoo.Port, Protocol = "TCP" }],
                                Env =
                                [
                                    new V1EnvVar { Name = "HOST", Value = PostgresServiceName },
                                    new V1EnvVar { Name = "PORT", Value = SandboxManifests.PostgresPort.ToString(CultureInfo.InvariantCulture) },
                                    new V1EnvVar { Name = "USER", Value = DatabaseRole },
                                    new V1EnvVar
                                    {
                                        Name = "PASSWORD",
                                        ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = SandboxManifests.SecretName, Key = PasswordKey } },
                                    },
                                ],
                                Resources = new V1ResourceRequirements { Limits = resources, Requests = resources },
                                ReadinessProbe = new V1Probe
                                {
                                    HttpGet = new V1HTTPGetAction { Path = "/web/login", Port = "http" },
                                    PeriodSeconds = 5,
                                    TimeoutSeconds = 5,
                                    FailureThreshold = 3,
                                },
                                SecurityContext = SandboxManifests.ContainerSecurity(),
                                VolumeMounts =
                                [
                                    new V1VolumeMount { Name = "data", MountPath = "/var/lib/odoo" },
                                    new V1VolumeMount { Name = "tmp", MountPath = "/tmp" },
                                ],
                            },
                        ],
                        Volumes =
                        [
                            new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = SandboxManifests.Bytes(odoo.StorageBytes) } },
                            new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() },
                        ],
                    },
                },
            },
        };
    }

    private static V1Service Service(string ns, string name, string selects, int port) => new()
    {
        Metadata = SandboxManifests.Meta(ns, name),
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = new Dictionary<string, string> { [SandboxManifests.NameLabel] = selects },
            Ports = [new V1ServicePort { Name = name == Name ? "http" : "postgres", Port = port, TargetPort = port, Protocol = "TCP" }],
        },
    };
}
