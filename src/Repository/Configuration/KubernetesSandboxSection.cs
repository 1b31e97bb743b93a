using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace BackupDr.Repository.Configuration;

/// <summary>Reads <c>BackupDr:Sandbox:Kubernetes</c> and <c>Tiers:&lt;tier&gt;:Sandbox</c>; defaults are those of the option records.</summary>
internal static class KubernetesSandboxSection
{
    public static KubernetesSandboxOptions Read(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Kubeconfig", "Context", "NamespacePrefix", "PostgresImages", "ReadyTimeout", "DeleteTimeout",
            "Expiry", "RepositoryEgress", "ImagePullSecrets", "RunAsUser", "Odoo");
        var defaults = new KubernetesSandboxOptions();
        var images = new Dictionary<int, string>();
        foreach (var image in section.GetSection("PostgresImages").GetChildren())
        {
            if (int.TryParse(image.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var major))
            {
                images[major] = image.Value?.Trim() ?? "";
            }
            else
            {
                reader.Error(image.Path, $"'{image.Key}' is not a PostgreSQL major version; write e.g. \"15\": \"postgres:15.8\"");
            }
        }

        return new KubernetesSandboxOptions
        {
            Kubeconfig = SectionReader.String(section, "Kubeconfig"),
            Context = SectionReader.String(section, "Context"),
            NamespacePrefix = SectionReader.String(section, "NamespacePrefix") is { Length: > 0 } prefix ? prefix : defaults.NamespacePrefix,
            PostgresImages = images,
            ReadyTimeout = reader.OptionalDuration(section, "ReadyTimeout", defaults.ReadyTimeout),
            DeleteTimeout = reader.OptionalDuration(section, "DeleteTimeout", defaults.DeleteTimeout),
            Expiry = reader.OptionalDuration(section, "Expiry", defaults.Expiry),
            RepositoryEgress = section.GetSection("RepositoryEgress").GetChildren()
                .OrderBy(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : int.MaxValue)
                .Select(rule =>
                {
                    reader.RejectUnknownKeys(rule, "Cidrs", "Ports");
                    return new EgressRuleOptions { Cidrs = reader.List(rule, "Cidrs"), Ports = Ports(rule, reader) };
                })
                .ToList(),
            ImagePullSecrets = reader.List(section, "ImagePullSecrets"),
            RunAsUser = reader.Long(section, "RunAsUser", defaults.RunAsUser),
            Odoo = ReadOdoo(section.GetSection("Odoo"), reader),
        };
    }

    private static KubernetesOdooOptions ReadOdoo(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Image", "Images", "Port", "CpuMillicores", "MemoryBytes", "StorageBytes", "RunAsUser");
        var defaults = new KubernetesOdooOptions();
        return new KubernetesOdooOptions
        {
            Image = SectionReader.String(section, "Image"),
            Images = section.GetSection("Images").GetChildren().ToList() is { Count: > 0 } images
                ? images.ToDictionary(i => i.Key, i => i.Value?.Trim() ?? "", StringComparer.Ordinal)
                : KubernetesOdooOptions.NoImages,
            Port = reader.Int(section, "Port", defaults.Port),
            CpuMillicores = reader.Int(section, "CpuMillicores", defaults.CpuMillicores),
            MemoryBytes = reader.Long(section, "MemoryBytes", defaults.MemoryBytes),
            StorageBytes = reader.Long(section, "StorageBytes", defaults.StorageBytes),
            RunAsUser = reader.Long(section, "RunAsUser", defaults.RunAsUser),
        };
    }

    public static TierSandboxOptions ReadTier(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "CpuMillicores", "MemoryBytes", "StorageBytes");
        var defaults = new TierSandboxOptions();
        return new TierSandboxOptions
        {
            CpuMillicores = reader.Int(section, "CpuMillicores", defaults.CpuMillicores),
            MemoryBytes = reader.Long(section, "MemoryBytes", defaults.MemoryBytes),
            StorageBytes = reader.Long(section, "StorageBytes", defaults.StorageBytes),
        };
    }

    private static List<int> Ports(IConfigurationSection rule, SectionReader reader)
    {
        var ports = new List<int>();
        foreach (var text in reader.List(rule, "Ports"))
        {
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                ports.Add(port);
            }
            else
            {
                reader.Error(ConfigurationPath.Combine(rule.Path, "Ports"), $"'{text}' is not a TCP port");
            }
        }

        return ports;
    }
}
