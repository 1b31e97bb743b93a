namespace BackupDr.Repository.Configuration;

/// <summary>
/// The whole <c>BackupDr</c> configuration section, read and validated by <see cref="BackupDrConfiguration"/>.
/// Immutable once read: every component sees the same validated instance.
/// </summary>
public sealed record BackupDrOptions
{
    public const string SectionName = "BackupDr";

    public required RepositoryOptions Repository { get; init; }
    public required IReadOnlyDictionary<string, TierOptions> Tiers { get; init; }
    public required IReadOnlyList<TargetOptions> Targets { get; init; }
    public required FilestoreOptions Filestore { get; init; }
    public required SandboxOptions Sandbox { get; init; }
    public required HttpOptions Http { get; init; }
    public required NotificationsOptions Notifications { get; init; }
    public required LoggingOptions Logging { get; init; }
    public SchedulerOptions Scheduler { get; init; } = new();

    public TargetOptions? FindTarget(string name) =>
        Targets.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));
}

public enum RepositoryKind
{
    Local,
    S3,
    Azure,
}

public sealed record RepositoryOptions
{
    public RepositoryKind Kind { get; init; } = RepositoryKind.Local;

    /// <summary>Folder of a <see cref="RepositoryKind.Local"/> repository; relative paths resolve against the working directory.</summary>
    public string Path { get; init; } = "";

    public required S3RepositoryOptions S3 { get; init; }
    public required AzureRepositoryOptions Azure { get; init; }

    /// <summary>File holding the repository passphrase (a mounted secret in the cluster).</summary>
    public string PassphraseFile { get; init; } = "";

    /// <summary>Secret. Only from the environment (<c>BackupDr__Repository__Passphrase</c>) or a file provider.</summary>
    public string Passphrase { get; init; } = "";

    /// <summary>What one GB (10^9 bytes) stored for a month costs here, for the report's showback per tenant; 0 hides cost.</summary>
    public decimal PricePerGbMonth { get; init; }

    /// <summary>ISO 4217 code shown beside costs.</summary>
    public string Currency { get; init; } = "USD";
}

/// <summary>Credentials come from the AWS SDK's own chain (environment, profile, instance or pod identity).</summary>
public sealed record S3RepositoryOptions
{
    public string Bucket { get; init; } = "";
    public string Prefix { get; init; } = "";
    public string ServiceUrl { get; init; } = "";
    public string Region { get; init; } = "";
    public bool ForcePathStyle { get; init; }
}

/// <summary>
/// An Azure Blob container, reached either with <see cref="ConnectionString"/> (a secret holding an account key or a
/// SAS) or with <see cref="ServiceUri"/> and an Azure identity: workload identity, managed identity or the environment's
/// service principal, through the Azure SDK's default credential chain.
/// </summary>
public sealed record AzureRepositoryOptions
{
    /// <summary>The blob service endpoint (<c>https://ACCOUNT.blob.core.windows.net</c>), used with an Azure identity.</summary>
    public string ServiceUri { get; init; } = "";
    public string Container { get; init; } = "";
    public string Prefix { get; init; } = "";

    /// <summary>Secret. Set either this or <see cref="ServiceUri"/>, not both.</summary>
    public string ConnectionString { get; init; } = "";
}

/// <summary>The promise made for a target: recovery objectives, drill frequency and retention.</summary>
public sealed record TierOptions
{
    public TimeSpan Rto { get; init; }
    public TimeSpan Rpo { get; init; }
    public TimeSpan DrillEvery { get; init; }
    public required RetentionOptions Retention { get; init; }

    /// <summary>Names of <c>Scheduler:Blackouts</c> windows during which this tier's drills and prunes do not start.</summary>
    public IReadOnlyList<string> Blackouts { get; init; } = [];

    /// <summary>What a drill sandbox of this tier may use (the Kubernetes namespace's quota and limits).</summary>
    public TierSandboxOptions Sandbox { get; init; } = new();
}

/// <summary>Grandfather-father-son retention: how many daily, weekly and monthly recovery points to keep.</summary>
public sealed record RetentionOptions
{
    public int Daily { get; init; }
    public int Weekly { get; init; }
    public int Monthly { get; init; }

    /// <summary>Every backup younger than this is kept, whatever the counts say (restic's keep-within).</summary>
    public TimeSpan KeepWithin { get; init; } = TimeSpan.FromDays(1);

    /// <summary>
    /// PITR targets of the tier: how far back every moment stays restorable. Base backups needed to reach back this far
    /// are kept (plus the newest), older ones and the WAL only they need are pruned.
    /// </summary>
    public TimeSpan PitrWindow { get; init; } = TimeSpan.FromDays(7);
}

/// <summary>One Odoo environment to protect: a PostgreSQL database plus its filestore folder.</summary>
public sealed record TargetOptions
{
    public string Name { get; init; } = "";
    public string Tenant { get; init; } = "";
    public string Environment { get; init; } = "";
    public string Tier { get; init; } = "";

    /// <summary>Secret when it carries a password; the password normally comes from the environment or a passfile.</summary>
    public string ConnectionString { get; init; } = "";

    public string FilestorePath { get; init; } = "";

    /// <summary>
    /// Also back up files in <see cref="FilestorePath"/> that no <c>ir_attachment</c> row references (Odoo's garbage
    /// collector removes them eventually). Off by default: they are counted, not copied.
    /// </summary>
    public bool IncludeUnreferencedFiles { get; init; }

    /// <summary>Quartz cron expression (seconds first), e.g. <c>0 0 1 * * ?</c>.</summary>
    public string BackupSchedule { get; init; } = "";

    /// <summary>Quartz cron expression; when empty the drill cadence follows the tier's <see cref="TierOptions.DrillEvery"/>.</summary>
    public string DrillSchedule { get; init; } = "";

    /// <summary>What a drill of this target checks beyond the built-in probes.</summary>
    public DrillOptions Drill { get; init; } = new();

    /// <summary>Names of <c>Scheduler:Blackouts</c> windows for this target, on top of its tier's.</summary>
    public IReadOnlyList<string> Blackouts { get; init; } = [];

    /// <summary>Point-in-time recovery: continuous WAL archive and base backups (off by default).</summary>
    public PitrOptions Pitr { get; init; } = new();

    public bool IsProduction => string.Equals(Environment, "production", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Per-target drill settings: custom SQL probes, the recency window, and an Odoo server for the sandbox.</summary>
public sealed record DrillOptions
{
    /// <summary>
    /// How far the newest write in the key tables may lie before the recovery point; null checks only that no write is
    /// newer than the recovery point (a database without daily activity has no meaningful window).
    /// </summary>
    public TimeSpan? RecencyWindow { get; init; }

    public IReadOnlyList<SqlProbeOptions> Probes { get; init; } = [];

    /// <summary>An Odoo application server serving the sandbox database; null when none is configured.</summary>
    public OdooProbeOptions? Odoo { get; init; }
}

/// <summary>
/// A custom SQL probe: a read-only query returning one scalar, checked against <see cref="Expected"/> (text equality)
/// or <see cref="Min"/>/<see cref="Max"/> (numeric bounds).
/// </summary>
public sealed record SqlProbeOptions
{
    public string Name { get; init; } = "";
    public string Query { get; init; } = "";
    public string? Expected { get; init; }
    public decimal? Min { get; init; }
    public decimal? Max { get; init; }
    public bool Critical { get; init; } = true;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>The Odoo server that serves the restored sandbox database, for the HTTP and XML-RPC probes.</summary>
public sealed record OdooProbeOptions
{
    /// <summary>
    /// The Odoo server's URL; empty when the drill's sandbox runs Odoo itself (Kubernetes sandboxes with
    /// <c>Sandbox:Kubernetes:Odoo:Image</c>), which the probes then reach through the sandbox's port-forward.
    /// </summary>
    public string Url { get; init; } = "";

    /// <summary>No URL of its own: the drill's sandbox starts Odoo on the restored copy.</summary>
    public bool ServedBySandbox => Url.Length == 0;

    /// <summary>The database name Odoo serves; empty means the restored database's name (the source's).</summary>
    public string Database { get; init; } = "";

    /// <summary>The drill user Odoo authenticates (a user made for drills, with read access to partners).</summary>
    public string Login { get; init; } = "";

    /// <summary>Secret: the drill user's password or API key (environment or a mounted file).</summary>
    public string Password { get; init; } = "";

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>How filestore contents are packed, read, uploaded and garbage-collected (docs/architecture.md, Filestore).</summary>
public sealed record FilestoreOptions
{
    public const long DefaultPackTargetSizeBytes = 16L << 20;
    public const long MinPackTargetSizeBytes = 1L << 20;
    public const long MaxPackTargetSizeBytes = 256L << 20;

    /// <summary>
    /// Stored size a pack of small files grows to before it is uploaded. Files of at least a quarter of it are stored
    /// alone, one object each.
    /// </summary>
    public long PackTargetSizeBytes { get; init; } = DefaultPackTargetSizeBytes;

    /// <summary>Source files read (and hashed, compressed) at the same time during a backup.</summary>
    public int ReadParallelism { get; init; } = 4;

    /// <summary>
    /// Packs uploaded at the same time during a backup. Each holds its whole stored bytes (up to
    /// <see cref="PackTargetSizeBytes"/>) in memory until the store confirms it: two keep a first filestore upload under
    /// 256 MiB peak RSS (four took about 30 MiB more, and were no faster on the bench machine).
    /// </summary>
    public int UploadParallelism { get; init; } = 2;

    /// <summary>
    /// Packs read at the same time by a restore (the incident's and the drill's), a verify, and a backup loading the
    /// tables of contents of earlier packs. Reads stream through small buffers, so this costs little memory; it is
    /// what hides the store's latency from the recovery time.
    /// </summary>
    public int DownloadParallelism { get; init; } = 4;

    /// <summary>
    /// Prune never deletes a pack younger than this, even when nothing references it: a second guard, beside the
    /// repository lock, for a backup that is still writing it.
    /// </summary>
    public TimeSpan PackGracePeriod { get; init; } = TimeSpan.FromHours(6);

    /// <summary>Files of at least this size are stored alone rather than in a pack.</summary>
    public long LargeFileBytes => PackTargetSizeBytes / 4;
}

public enum SandboxKind
{
    Local,
    Kubernetes,
}

public sealed record SandboxOptions
{
    public SandboxKind Kind { get; init; } = SandboxKind.Local;

    /// <summary>
    /// Where local sandboxes (throwaway clusters, restored filestores) are created; for Kubernetes sandboxes, where the
    /// worker stages the dump and restores the filestore (the database lives in the sandbox namespace).
    /// </summary>
    public string WorkPath { get; init; } = "";

    /// <summary><c>Sandbox:Kubernetes</c>; read whatever the kind, used when <see cref="Kind"/> is Kubernetes.</summary>
    public KubernetesSandboxOptions Kubernetes { get; init; } = new();

    /// <summary>Sandboxes start an Odoo server of their own for targets whose <c>Drill:Odoo</c> has no URL.</summary>
    public bool RunsOdoo => Kind == SandboxKind.Kubernetes && Kubernetes.Odoo.Enabled;
}

public sealed record HttpOptions
{
    /// <summary>Port of <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> served by <c>backupdr run</c>.</summary>
    public int Port { get; init; } = 8080;
}

public sealed record NotificationsOptions
{
    public required EmailOptions Email { get; init; }
    public required WebhookOptions Webhook { get; init; }

    /// <summary>Tries per notifier and message (the first included) before the failure is logged and given up.</summary>
    public int Attempts { get; init; } = 3;

    /// <summary>Wait before the second try; doubled before each further one.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often on-call is reminded of an incident that is still open.</summary>
    public TimeSpan ReminderEvery { get; init; } = TimeSpan.FromHours(4);
}

public sealed record EmailOptions
{
    /// <summary>SMTP host; empty disables email.</summary>
    public string Host { get; init; } = "";
    public int Port { get; init; } = 587;
    /// <summary>
    /// True: TLS on connect for port 465, STARTTLS (required, never downgraded) on other ports. False: no TLS, for a
    /// relay on the same host only.
    /// </summary>
    public bool UseTls { get; init; } = true;

    /// <summary>
    /// SHA-256 (hex) of the one server certificate to accept, for a private relay with a self-signed certificate.
    /// Empty: the certificate must chain to a trusted root and match Host.
    /// </summary>
    public string TrustedCertificateSha256 { get; init; } = "";

    public string Username { get; init; } = "";

    /// <summary>Secret.</summary>
    public string Password { get; init; } = "";
    public string From { get; init; } = "";
    public IReadOnlyList<string> OnCall { get; init; } = [];
    public IReadOnlyList<string> Reports { get; init; } = [];

    public bool IsEnabled => Host.Length > 0;
}

public sealed record WebhookOptions
{
    /// <summary>Secret: incoming-webhook URLs (Slack, Teams) carry their credential in the path. Empty disables the webhook.</summary>
    public string Url { get; init; } = "";

    /// <summary>Secret used to sign each payload (HMAC-SHA256).</summary>
    public string Secret { get; init; } = "";

    public bool IsEnabled => Url.Length > 0;
}

public enum LogLevelName
{
    Verbose,
    Debug,
    Information,
    Warning,
    Error,
    Fatal,
}

public sealed record LoggingOptions
{
    /// <summary>
    /// JSON lines (true) or readable text (false). When unset: JSON when standard error is not a terminal.
    /// </summary>
    public bool? Json { get; init; }

    public LogLevelName MinimumLevel { get; init; } = LogLevelName.Information;
}
