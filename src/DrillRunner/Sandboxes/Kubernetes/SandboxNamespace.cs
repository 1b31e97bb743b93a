using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>
/// The names, labels and annotations that make a namespace a drill sandbox. The name is
/// <c>&lt;prefix&gt;-&lt;target, shortened&gt;-&lt;12 hex of SHA-256(target/drill-id)&gt;</c>: a DNS-1123 label of at most 63
/// characters, the same for the same drill, different for two drills even when shortened targets collide.
/// </summary>
internal static partial class SandboxNamespace
{
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "backupdr";
    public const string SandboxLabel = "backupdr.io/sandbox";
    public const string TargetLabel = "backupdr.io/target";
    public const string TenantLabel = "backupdr.io/tenant";
    public const string DrillIdLabel = "backupdr.io/drill-id";

    /// <summary>When the janitor may delete the namespace (ISO 8601, UTC): creation time plus <c>Sandbox:Kubernetes:Expiry</c>.</summary>
    public const string ExpiresAtAnnotation = "backupdr.io/expires-at";

    public const string CreatedByAnnotation = "backupdr.io/created-by";

    /// <summary>The target's exact name (labels are shortened and restricted to label characters).</summary>
    public const string TargetNameAnnotation = "backupdr.io/target-name";

    /// <summary>What the janitor lists: namespaces made by backupdr as sandboxes (it then also checks the name's prefix).</summary>
    public const string Selector = ManagedByLabel + "=" + ManagedByValue + "," + SandboxLabel + "=true";

    private const int MaxLength = 63;
    private const int HashLength = 12;

    public static string Name(string prefix, string target, string drillId)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(target + "/" + drillId)))[..HashLength];
        var room = MaxLength - prefix.Length - HashLength - 2;
        var shortened = LabelValue(target.ToLowerInvariant(), Math.Max(0, room)).Replace('_', '-').Replace('.', '-').Trim('-');
        return shortened.Length == 0 ? $"{prefix}-{hash}" : $"{prefix}-{shortened}-{hash}";
    }

    public static Dictionary<string, string> Labels(SandboxRequest request) => new()
    {
        [ManagedByLabel] = ManagedByValue,
        [SandboxLabel] = "true",
        [TargetLabel] = LabelValue(request.Target, MaxLength),
        [TenantLabel] = LabelValue(request.Tenant, MaxLength),
        [DrillIdLabel] = LabelValue(request.DrillId, MaxLength),
    };

    public static Dictionary<string, string> Annotations(SandboxRequest request, DateTimeOffset expiresAt) => new()
    {
        [ExpiresAtAnnotation] = FormatTime(expiresAt),
        [CreatedByAnnotation] = $"{Environment.MachineName} pid {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}",
        [TargetNameAnnotation] = request.Target,
    };

    public static string FormatTime(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    public static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParseExact(text, "yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    /// <summary>
    /// A valid label value: characters outside <c>[A-Za-z0-9._-]</c> become <c>-</c>, at most <paramref name="max"/>
    /// characters, starting and ending with a letter or digit (empty when nothing is left).
    /// </summary>
    public static string LabelValue(string text, int max)
    {
        var value = NotLabelCharacters().Replace(text, "-");
        value = value[..Math.Min(value.Length, max)];
        return value.Trim('-', '_', '.');
    }

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex NotLabelCharacters();
}
