using BackupDr.Repository.Configuration;
using BackupDr.Repository.Postgres;
using k8s;
using k8s.Exceptions;
using Microsoft.Extensions.Logging;

namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>
/// Kubernetes sandboxes: one namespace per drill (<see cref="SandboxNamespace"/>: labelled, annotated with its expiry)
/// holding default-deny network policies with only DNS, the namespace itself and the configured repository egress
/// allowed, the tier's ResourceQuota and LimitRange, a Secret with a random password and a PostgreSQL pod of the
/// backup's major with archiving and replication off. The worker reaches the server through a port-forward on
/// 127.0.0.1, so the restore pipeline and the probes run exactly as with a local sandbox; the dump is staged and the
/// filestore restored in the worker's <c>Sandbox:WorkPath</c> (<see cref="SandboxFolder"/>).
/// </summary>
internal sealed class KubernetesSandboxProvider(
    KubernetesSandboxOptions options, string workPath, KubernetesClientConfiguration configuration, TimeProvider time, ILogger<KubernetesSandboxProvider> logger)
    : ISandboxProvider
{
    public const string KindName = "kubernetes";

    public string Kind => KindName;

    /// <summary>
    /// Checks what can be checked without the cluster (an image for the major, the local pg_restore), makes the local
    /// folder and returns; every API call happens in <see cref="ISandbox.StartAsync"/>, so a refusal is a Provision
    /// failure of the drill and teardown still deletes whatever was made.
    /// </summary>
    public async Task<ISandbox> ProvisionAsync(SandboxRequest request, CancellationToken cancellationToken)
    {
        if (!options.PostgresImages.TryGetValue(request.PostgresMajor, out var image))
        {
            var known = options.PostgresImages.Count == 0 ? "none" : string.Join(", ", options.PostgresImages.Keys.Order());
            throw new SandboxException(
                $"no PostgreSQL image for major {request.PostgresMajor} (the backup's server): add BackupDr:Sandbox:Kubernetes:PostgresImages:{request.PostgresMajor}, "
                + $"e.g. \"postgres:{request.PostgresMajor}\"; images are configured for: {known}");
        }

        // The Odoo server of the backup's series, when the drill runs one here.
        var sandboxOptions = options;
        if (request.RunsOdoo && options.Odoo.Enabled)
        {
            var odooImage = options.Odoo.ImageFor(request.OdooVersion) ?? throw new SandboxException(
                $"no Odoo image for this backup's Odoo {request.OdooVersion ?? "(no version recorded)"}: add BackupDr:Sandbox:Kubernetes:Odoo:Images:"
                + $"{KubernetesOdooOptions.Series(request.OdooVersion) ?? "<series>"}, or set Sandbox:Kubernetes:Odoo:Image for every other series; "
                + $"images are configured for: {string.Join(", ", options.Odoo.Images.Keys.Order(StringComparer.Ordinal))}");
            sandboxOptions = options with { Odoo = options.Odoo with { Image = odooImage } };
        }

        // The worker runs pg_restore itself, through the port-forward: its client tools must be of the backup's major.
        PostgresInstallation.Locate(request.PostgresMajor).RequireTools("pg_restore");
        var folder = await SandboxFolder.CreateAsync(Path.GetFullPath(workPath), request, time, cancellationToken);
        return new KubernetesSandbox(new k8s.Kubernetes(configuration), sandboxOptions, request, folder, image, time, logger);
    }
}

/// <summary>How the worker finds the API server: <c>Sandbox:Kubernetes:Kubeconfig</c>, else in-cluster, else the default kubeconfig.</summary>
internal static class KubernetesConnection
{
    public static KubernetesClientConfiguration Configuration(KubernetesSandboxOptions options)
    {
        var context = options.Context.Length > 0 ? options.Context : null;
        try
        {
            if (options.Kubeconfig.Length > 0)
            {
                return KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig, context);
            }

            return KubernetesClientConfiguration.IsInCluster() && context is null
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile(currentContext: context);
        }
        catch (KubeConfigException e)
        {
            throw new SandboxException(
                $"Kubernetes sandboxes: no usable cluster configuration ({e.Message}); set BackupDr:Sandbox:Kubernetes:Kubeconfig, or run in a pod with a service account", e);
        }
    }
}
