using System.Net;
using System.Text.RegularExpressions;

namespace BackupDr.Repository.Configuration;

/// <summary>The rules of <c>BackupDr:Sandbox</c> (both kinds) and of each tier's <c>Sandbox</c> limits.</summary>
internal static partial class ConfigurationValidator
{
    /// <summary>A namespace name is the prefix, a hyphen, up to 20 characters of the target and a 12-character hash: at most 63.</summary>
    internal const int NamespacePrefixMaxLength = 20;

    private static void ValidateSandbox(BackupDrOptions options, Action<string, string> add)
    {
        var sandbox = options.Sandbox;
        if (sandbox.WorkPath.Length == 0)
        {
            add("Sandbox:WorkPath", sandbox.Kind == SandboxKind.Local
                ? "required for a Local sandbox: the folder where throwaway clusters are created"
                : "required: the folder where the worker stages dumps and restores filestores for Kubernetes sandboxes");
        }

        foreach (var (name, tier) in options.Tiers)
        {
            var limits = tier.Sandbox;
            if (limits.CpuMillicores < 100)
            {
                add($"Tiers:{name}:Sandbox:CpuMillicores", $"{limits.CpuMillicores}: a sandbox needs at least 100 (a tenth of a core)");
            }

            if (limits.MemoryBytes < 256L << 20)
            {
                add($"Tiers:{name}:Sandbox:MemoryBytes", $"{limits.MemoryBytes}: a sandbox needs at least 268435456 (256 MiB)");
            }

            if (limits.StorageBytes < 1L << 30)
            {
                add($"Tiers:{name}:Sandbox:StorageBytes", $"{limits.StorageBytes}: a sandbox needs at least 1073741824 (1 GiB)");
            }
        }

        if (sandbox.Kind == SandboxKind.Kubernetes)
        {
            ValidateKubernetes(sandbox.Kubernetes, add);
        }
    }

    private static void ValidateKubernetes(KubernetesSandboxOptions kubernetes, Action<string, string> add)
    {
        const string Key = "Sandbox:Kubernetes";
        if (kubernetes.Kubeconfig.Length > 0 && !File.Exists(kubernetes.Kubeconfig))
        {
            add($"{Key}:Kubeconfig", $"file '{kubernetes.Kubeconfig}' does not exist; leave it empty to use the pod's service account in the cluster");
        }

        if (kubernetes.NamespacePrefix.Length > NamespacePrefixMaxLength || !TierName().IsMatch(kubernetes.NamespacePrefix))
        {
            add($"{Key}:NamespacePrefix", $"'{kubernetes.NamespacePrefix}' is not a DNS label of at most {NamespacePrefixMaxLength} characters (lowercase letters, digits, hyphens)");
        }

        if (kubernetes.PostgresImages.Count == 0)
        {
            add($"{Key}:PostgresImages", "at least one image is required, by PostgreSQL major version, e.g. { \"15\": \"postgres:15.8\" }");
        }

        foreach (var (major, image) in kubernetes.PostgresImages)
        {
            if (major is < 9 or > 99)
            {
                add($"{Key}:PostgresImages:{major}", $"{major} is not a PostgreSQL major version");
            }

            if (!ImageReference().IsMatch(image))
            {
                add($"{Key}:PostgresImages:{major}", $"'{image}' is not an image reference such as postgres:15.8 or registry.example.com/postgres@sha256:...");
            }
        }

        for (var i = 0; i < kubernetes.RepositoryEgress.Count; i++)
        {
            var rule = kubernetes.RepositoryEgress[i];
            if (rule.Cidrs.Count == 0)
            {
                add($"{Key}:RepositoryEgress:{i}:Cidrs", "at least one address block is required, e.g. 10.20.0.0/16");
            }

            foreach (var cidr in rule.Cidrs.Where(c => !IPNetwork.TryParse(c, out _)))
            {
                add($"{Key}:RepositoryEgress:{i}:Cidrs", $"'{cidr}' is not an address block such as 10.20.0.0/16");
            }

            if (rule.Ports.Count == 0)
            {
                add($"{Key}:RepositoryEgress:{i}:Ports", "at least one TCP port is required, e.g. 443");
            }

            foreach (var port in rule.Ports.Where(p => p is < 1 or > 65535))
            {
                add($"{Key}:RepositoryEgress:{i}:Ports", $"{port} is not a TCP port (1-65535)");
            }
        }

        foreach (var secret in kubernetes.ImagePullSecrets.Where(s => !DnsSubdomain().IsMatch(s)))
        {
            add($"{Key}:ImagePullSecrets", $"'{secret}' is not a Secret name");
        }

        if (kubernetes.RunAsUser < 1)
        {
            add($"{Key}:RunAsUser", $"{kubernetes.RunAsUser}: sandbox containers never run as root; use the image's own user (999 for postgres)");
        }

        ValidateOdoo(kubernetes.Odoo, add);
    }

    /// <summary><c>Sandbox:Kubernetes:Odoo</c>, checked when it names an image (otherwise nothing of it is used).</summary>
    private static void ValidateOdoo(KubernetesOdooOptions odoo, Action<string, string> add)
    {
        const string Key = "Sandbox:Kubernetes:Odoo";
        if (!odoo.Enabled)
        {
            return;
        }

        if (odoo.Image.Length > 0 && !ImageReference().IsMatch(odoo.Image))
        {
            add($"{Key}:Image", $"'{odoo.Image}' is not an image reference such as odoo:17.0 or registry.example.com/odoo@sha256:...");
        }

        foreach (var (series, image) in odoo.Images)
        {
            if (KubernetesOdooOptions.Series(series) != series)
            {
                add($"{Key}:Images:{series}", $"'{series}' is not an Odoo series such as 16.0, 17.0 or saas~17.2");
            }

            if (!ImageReference().IsMatch(image))
            {
                add($"{Key}:Images:{series}", $"'{image}' is not an image reference such as odoo:17.0 or registry.example.com/odoo@sha256:...");
            }
        }

        if (odoo.Port is < 1 or > 65535)
        {
            add($"{Key}:Port", $"{odoo.Port} is not a TCP port (1-65535; the official image listens on 8069)");
        }

        if (odoo.CpuMillicores < 100)
        {
            add($"{Key}:CpuMillicores", $"{odoo.CpuMillicores}: the Odoo container needs at least 100 (a tenth of a core)");
        }

        if (odoo.MemoryBytes < 256L << 20)
        {
            add($"{Key}:MemoryBytes", $"{odoo.MemoryBytes}: the Odoo container needs at least 268435456 (256 MiB)");
        }

        if (odoo.StorageBytes < 256L << 20)
        {
            add($"{Key}:StorageBytes", $"{odoo.StorageBytes}: the Odoo container needs at least 268435456 (256 MiB) for its data folder and /tmp");
        }

        if (odoo.RunAsUser < 1)
        {
            add($"{Key}:RunAsUser", $"{odoo.RunAsUser}: sandbox containers never run as root; use the image's own user (101 for odoo)");
        }
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$")]
    private static partial Regex ImageReference();
}
