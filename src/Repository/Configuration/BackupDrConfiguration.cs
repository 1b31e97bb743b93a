using Microsoft.Extensions.Configuration;

namespace BackupDr.Repository.Configuration;

/// <summary>
/// Turns the <c>BackupDr</c> section of an <see cref="IConfiguration"/> into validated <see cref="BackupDrOptions"/>.
/// Every problem is reported at once, each naming its key; nothing here reads the network or a database.
/// </summary>
public static class BackupDrConfiguration
{
    /// <summary>Reads and validates; throws <see cref="InvalidConfigurationException"/> naming every bad field.</summary>
    public static BackupDrOptions Load(IConfiguration configuration)
    {
        var (options, errors) = TryLoad(configuration);
        return errors.Count > 0 ? throw new InvalidConfigurationException(errors) : options;
    }

    public static (BackupDrOptions Options, IReadOnlyList<ConfigurationError> Errors) TryLoad(IConfiguration configuration)
    {
        var reader = new SectionReader();
        var options = Read(configuration.GetSection(BackupDrOptions.SectionName), reader);
        var errors = reader.Errors.Concat(ConfigurationValidator.Validate(options)).ToList();
        return (options, errors);
    }

    private static BackupDrOptions Read(IConfigurationSection root, SectionReader reader)
    {
        reader.RejectUnknownKeys(root, "Repository", "Tiers", "Targets", "Filestore", "Sandbox", "Http", "Notifications", "Logging", "Scheduler");
        return new BackupDrOptions
        {
            Repository = ReadRepository(root.GetSection("Repository"), reader),
            Tiers = root.GetSection("Tiers").GetChildren()
                .ToDictionary(t => t.Key, t => ReadTier(t, reader), StringComparer.OrdinalIgnoreCase),
            Targets = root.GetSection("Targets").GetChildren()
                .OrderBy(t => int.TryParse(t.Key, out var i) ? i : int.MaxValue)
                .Select(t => ReadTarget(t, reader))
                .ToList(),
            Filestore = ReadFilestore(root.GetSection("Filestore"), reader),
            Sandbox = ReadSandbox(root.GetSection("Sandbox"), reader),
            Http = ReadHttp(root.GetSection("Http"), reader),
            Notifications = ReadNotifications(root.GetSection("Notifications"), reader),
            Logging = ReadLogging(root.GetSection("Logging"), reader),
            Scheduler = SchedulerSection.Read(root.GetSection("Scheduler"), reader),
        };
    }

    private static RepositoryOptions ReadRepository(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Kind", "Path", "S3", "Azure", "PassphraseFile", "Passphrase", "PricePerGbMonth", "Currency");
        var s3 = section.GetSection("S3");
        reader.RejectUnknownKeys(s3, "Bucket", "Prefix", "ServiceUrl", "Region", "ForcePathStyle");
        var azure = section.GetSection("Azure");
        reader.RejectUnknownKeys(azure, "ServiceUri", "Container", "Prefix", "ConnectionString");
        return new RepositoryOptions
        {
            Kind = reader.Enum(section, "Kind", RepositoryKind.Local),
            Path = SectionReader.String(section, "Path"),
            PassphraseFile = SectionReader.String(section, "PassphraseFile"),
            Passphrase = SectionReader.String(section, "Passphrase"),
            PricePerGbMonth = reader.OptionalDecimal(section, "PricePerGbMonth") ?? 0m,
            Currency = SectionReader.String(section, "Currency") is { Length: > 0 } currency ? currency : "USD",
            S3 = new S3RepositoryOptions
            {
                Bucket = SectionReader.String(s3, "Bucket"),
                Prefix = SectionReader.String(s3, "Prefix"),
                ServiceUrl = SectionReader.String(s3, "ServiceUrl"),
                Region = SectionReader.String(s3, "Region"),
                ForcePathStyle = reader.Bool(s3, "ForcePathStyle", false),
            },
            Azure = new AzureRepositoryOptions
            {
                ServiceUri = SectionReader.String(azure, "ServiceUri"),
                Container = SectionReader.String(azure, "Container"),
                Prefix = SectionReader.String(azure, "Prefix"),
                ConnectionString = SectionReader.String(azure, "ConnectionString"),
            },
        };
    }

    private static TierOptions ReadTier(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Rto", "Rpo", "DrillEvery", "Retention", "Blackouts", "Sandbox");
        var retention = section.GetSection("Retention");
        reader.RejectUnknownKeys(retention, "Daily", "Weekly", "Monthly", "KeepWithin", "PitrWindow");
        return new TierOptions
        {
            Rto = reader.Duration(section, "Rto"),
            Rpo = reader.Duration(section, "Rpo"),
            DrillEvery = reader.Duration(section, "DrillEvery"),
            Retention = new RetentionOptions
            {
                Daily = reader.Int(retention, "Daily", 0),
                Weekly = reader.Int(retention, "Weekly", 0),
                Monthly = reader.Int(retention, "Monthly", 0),
                KeepWithin = reader.OptionalDuration(retention, "KeepWithin", TimeSpan.FromDays(1)),
                PitrWindow = reader.OptionalDuration(retention, "PitrWindow", new RetentionOptions().PitrWindow),
            },
            Blackouts = reader.List(section, "Blackouts"),
            Sandbox = KubernetesSandboxSection.ReadTier(section.GetSection("Sandbox"), reader),
        };
    }

    private static TargetOptions ReadTarget(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Name", "Tenant", "Environment", "Tier", "ConnectionString", "FilestorePath",
            "IncludeUnreferencedFiles", "BackupSchedule", "DrillSchedule", "Drill", "Blackouts", "Pitr");
        return new TargetOptions
        {
            Name = SectionReader.String(section, "Name"),
            Tenant = SectionReader.String(section, "Tenant"),
            Environment = SectionReader.String(section, "Environment"),
            Tier = SectionReader.String(section, "Tier"),
            ConnectionString = SectionReader.String(section, "ConnectionString"),
            FilestorePath = SectionReader.String(section, "FilestorePath"),
            IncludeUnreferencedFiles = reader.Bool(section, "IncludeUnreferencedFiles", false),
            BackupSchedule = SectionReader.String(section, "BackupSchedule"),
            DrillSchedule = SectionReader.String(section, "DrillSchedule"),
            Drill = ReadDrill(section.GetSection("Drill"), reader),
            Blackouts = reader.List(section, "Blackouts"),
            Pitr = ReadPitr(section.GetSection("Pitr"), reader),
        };
    }

    private static PitrOptions ReadPitr(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Enabled", "SlotName", "BaseBackupSchedule", "FlushInterval", "MaxSlotRetainedBytes", "RecoveryTimeout");
        var defaults = new PitrOptions();
        return new PitrOptions
        {
            Enabled = reader.Bool(section, "Enabled", false),
            SlotName = SectionReader.String(section, "SlotName"),
            BaseBackupSchedule = SectionReader.String(section, "BaseBackupSchedule"),
            FlushInterval = reader.OptionalDuration(section, "FlushInterval", defaults.FlushInterval),
            MaxSlotRetainedBytes = reader.Long(section, "MaxSlotRetainedBytes", defaults.MaxSlotRetainedBytes),
            RecoveryTimeout = reader.OptionalDuration(section, "RecoveryTimeout", defaults.RecoveryTimeout),
        };
    }

    private static DrillOptions ReadDrill(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "RecencyWindow", "Probes", "Odoo");
        var odoo = section.GetSection("Odoo");
        reader.RejectUnknownKeys(odoo, "Url", "Database", "Login", "Password", "Timeout");
        return new DrillOptions
        {
            RecencyWindow = reader.OptionalDuration(section, "RecencyWindow"),
            Probes = section.GetSection("Probes").GetChildren()
                .OrderBy(p => int.TryParse(p.Key, out var i) ? i : int.MaxValue)
                .Select(p => ReadSqlProbe(p, reader))
                .ToList(),
            Odoo = odoo.Exists()
                ? new OdooProbeOptions
                {
                    Url = SectionReader.String(odoo, "Url"),
                    Database = SectionReader.String(odoo, "Database"),
                    Login = SectionReader.String(odoo, "Login"),
                    Password = SectionReader.String(odoo, "Password"),
                    Timeout = reader.OptionalDuration(odoo, "Timeout") ?? TimeSpan.FromSeconds(30),
                }
                : null,
        };
    }

    private static SqlProbeOptions ReadSqlProbe(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Name", "Query", "Expected", "Min", "Max", "Critical", "Timeout");
        var expected = section["Expected"];
        return new SqlProbeOptions
        {
            Name = SectionReader.String(section, "Name"),
            Query = SectionReader.String(section, "Query"),
            Expected = expected,
            Min = reader.OptionalDecimal(section, "Min"),
            Max = reader.OptionalDecimal(section, "Max"),
            Critical = reader.Bool(section, "Critical", true),
            Timeout = reader.OptionalDuration(section, "Timeout") ?? TimeSpan.FromMinutes(5),
        };
    }

    private static FilestoreOptions ReadFilestore(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "PackTargetSizeBytes", "ReadParallelism", "UploadParallelism", "DownloadParallelism", "PackGracePeriod");
        var defaults = new FilestoreOptions();
        return new FilestoreOptions
        {
            PackTargetSizeBytes = reader.Long(section, "PackTargetSizeBytes", defaults.PackTargetSizeBytes),
            ReadParallelism = reader.Int(section, "ReadParallelism", defaults.ReadParallelism),
            UploadParallelism = reader.Int(section, "UploadParallelism", defaults.UploadParallelism),
            DownloadParallelism = reader.Int(section, "DownloadParallelism", defaults.DownloadParallelism),
            PackGracePeriod = reader.OptionalDuration(section, "PackGracePeriod", defaults.PackGracePeriod),
        };
    }

    private static SandboxOptions ReadSandbox(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Kind", "WorkPath", "Kubernetes");
        return new SandboxOptions
        {
            Kind = reader.Enum(section, "Kind", SandboxKind.Local),
            WorkPath = SectionReader.String(section, "WorkPath"),
            Kubernetes = KubernetesSandboxSection.Read(section.GetSection("Kubernetes"), reader),
        };
    }

    private static HttpOptions ReadHttp(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Port");
        return new HttpOptions { Port = reader.Int(section, "Port", 8080) };
    }

    private static NotificationsOptions ReadNotifications(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Email", "Webhook", "Attempts", "RetryDelay", "ReminderEvery");
        var email = section.GetSection("Email");
        reader.RejectUnknownKeys(email, "Host", "Port", "UseTls", "TrustedCertificateSha256", "Username", "Password", "From", "OnCall", "Reports");
        var webhook = section.GetSection("Webhook");
        reader.RejectUnknownKeys(webhook, "Url", "Secret");
        return new NotificationsOptions
        {
            Email = new EmailOptions
            {
                Host = SectionReader.String(email, "Host"),
                Port = reader.Int(email, "Port", 587),
                UseTls = reader.Bool(email, "UseTls", true),
                TrustedCertificateSha256 = SectionReader.String(email, "TrustedCertificateSha256"),
                Username = SectionReader.String(email, "Username"),
                Password = SectionReader.String(email, "Password"),
                From = SectionReader.String(email, "From"),
                OnCall = reader.List(email, "OnCall"),
                Reports = reader.List(email, "Reports"),
            },
            Webhook = new WebhookOptions
            {
                Url = SectionReader.String(webhook, "Url"),
                Secret = SectionReader.String(webhook, "Secret"),
            },
            Attempts = reader.Int(section, "Attempts", 3),
            RetryDelay = reader.OptionalDuration(section, "RetryDelay", TimeSpan.FromSeconds(5)),
            ReminderEvery = reader.OptionalDuration(section, "ReminderEvery", TimeSpan.FromHours(4)),
        };
    }

    private static LoggingOptions ReadLogging(IConfigurationSection section, SectionReader reader)
    {
        reader.RejectUnknownKeys(section, "Json", "MinimumLevel");
        return new LoggingOptions
        {
            Json = reader.OptionalBool(section, "Json"),
            MinimumLevel = reader.Enum(section, "MinimumLevel", LogLevelName.Information),
        };
    }
}
