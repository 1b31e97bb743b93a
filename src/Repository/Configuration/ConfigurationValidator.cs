using System.Net.Mail;
using System.Text.RegularExpressions;
using Npgsql;
using Quartz;

namespace BackupDr.Repository.Configuration;

/// <summary>
/// The rules a configuration must satisfy before anything runs. Returns every violation; a message
/// never contains the value of a secret (passphrase, connection string, webhook URL, password).
/// </summary>
internal static partial class ConfigurationValidator
{
    private const string Root = BackupDrOptions.SectionName;

    public static IReadOnlyList<ConfigurationError> Validate(BackupDrOptions options)
    {
        var errors = new List<ConfigurationError>();
        void Add(string key, string message) => errors.Add(new ConfigurationError($"{Root}:{key}", message));

        ValidateRepository(options.Repository, Add);
        ValidateTiers(options.Tiers, Add);
        ValidateTargets(options, Add);
        ValidateFilestore(options.Filestore, Add);

        ValidateSandbox(options, Add);

        if (options.Http.Port is < 1 or > 65535)
        {
            Add("Http:Port", $"{options.Http.Port} is not a TCP port (1-65535)");
        }

        ValidateNotifications(options.Notifications, Add);
        ValidateScheduler(options, Add);
        return errors;
    }

    private static void ValidateRepository(RepositoryOptions repository, Action<string, string> add)
    {
        if (repository.PricePerGbMonth < 0)
        {
            add("Repository:PricePerGbMonth", $"{repository.PricePerGbMonth} is negative");
        }

        if (!CurrencyCode().IsMatch(repository.Currency))
        {
            add("Repository:Currency", $"'{repository.Currency}' is not an ISO 4217 code such as USD or EUR");
        }

        switch (repository.Kind)
        {
            case RepositoryKind.Local when repository.Path.Length == 0:
                add("Repository:Path", "required for a Local repository");
                break;
            case RepositoryKind.S3:
                var s3 = repository.S3;
                if (s3.Bucket.Length == 0)
                {
                    add("Repository:S3:Bucket", "required for an S3 repository");
                }
                else if (!S3BucketName().IsMatch(s3.Bucket))
                {
                    add("Repository:S3:Bucket", $"'{s3.Bucket}' is not a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)");
                }

                if (s3.Region.Length == 0 && s3.ServiceUrl.Length == 0)
                {
                    add("Repository:S3:Region", "set Region (AWS) or ServiceUrl (an S3-compatible endpoint)");
                }

                ValidateEndpoint("Repository:S3:ServiceUrl", s3.ServiceUrl, add);
                ValidatePrefix("Repository:S3:Prefix", s3.Prefix, add);
                break;
            case RepositoryKind.Azure:
                var azure = repository.Azure;
                if (azure.Container.Length == 0)
                {
                    add("Repository:Azure:Container", "required for an Azure repository");
                }
                else if (!AzureContainerName().IsMatch(azure.Container) || azure.Container.Contains("--", StringComparison.Ordinal))
                {
                    add("Repository:Azure:Container", $"'{azure.Container}' is not a valid container name (3-63 lowercase letters, digits, single hyphens)");
                }

                if (azure.ConnectionString.Length == 0 && azure.ServiceUri.Length == 0)
                {
                    add("Repository:Azure:ConnectionString", "an Azure repository needs either a connection string (a secret: the environment's BackupDr__Repository__Azure__ConnectionString or a mounted configuration file) or Repository:Azure:ServiceUri with an Azure identity (workload or managed identity)");
                }
                else if (azure.ConnectionString.Length > 0 && azure.ServiceUri.Length > 0)
                {
                    add("Repository:Azure:ServiceUri", "set either ServiceUri (with an Azure identity) or ConnectionString (which names its own endpoint), not both");
                }

                ValidateEndpoint("Repository:Azure:ServiceUri", azure.ServiceUri, add);
                if (IsHttpUri(azure.ServiceUri) && new Uri(azure.ServiceUri).Scheme != Uri.UriSchemeHttps)
                {
                    add("Repository:Azure:ServiceUri", "must be https: an Azure identity's token is sent over TLS only");
                }
                ValidatePrefix("Repository:Azure:Prefix", azure.Prefix, add);
                break;
        }

        if (repository.PassphraseFile.Length > 0 && repository.Passphrase.Length > 0)
        {
            add("Repository:PassphraseFile", "both PassphraseFile and Passphrase are set; keep one");
        }
        else if (repository.PassphraseFile.Length > 0 && !File.Exists(repository.PassphraseFile))
        {
            add("Repository:PassphraseFile", $"file '{repository.PassphraseFile}' does not exist");
        }
    }

    private static void ValidateTiers(IReadOnlyDictionary<string, TierOptions> tiers, Action<string, string> add)
    {
        if (tiers.Count == 0)
        {
            add("Tiers", "at least one tier is required (e.g. gold with Rto, Rpo, DrillEvery and Retention)");
        }

        foreach (var (name, tier) in tiers)
        {
            if (!TierName().IsMatch(name))
            {
                add($"Tiers:{name}", "a tier name uses lowercase letters, digits and hyphens");
            }

            var retention = tier.Retention;
            foreach (var (field, count) in new[] { ("Daily", retention.Daily), ("Weekly", retention.Weekly), ("Monthly", retention.Monthly) })
            {
                if (count < 0)
                {
                    add($"Tiers:{name}:Retention:{field}", $"{count} is negative; keep 0 or more recovery points");
                }
            }

            if (retention.Daily <= 0 && retention.Weekly <= 0 && retention.Monthly <= 0)
            {
                add($"Tiers:{name}:Retention", "keeps no backup at all; set Daily, Weekly or Monthly above 0");
            }

            if (retention.PitrWindow <= TimeSpan.Zero)
            {
                add($"Tiers:{name}:Retention:PitrWindow", $"{retention.PitrWindow:c} is not a positive duration (default 7.00:00:00): how far back PITR targets stay restorable");
            }
        }
    }

    private static void ValidateTargets(BackupDrOptions options, Action<string, string> add)
    {
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Targets.Count; i++)
        {
            var target = options.Targets[i];
            var key = $"Targets:{i}";
            if (target.Name.Length == 0)
            {
                add($"{key}:Name", "required");
            }
            else if (!TargetName().IsMatch(target.Name))
            {
                add($"{key}:Name", $"'{target.Name}' is not a valid target name (1-40 lowercase letters, digits and hyphens, starting and ending with a letter or digit)");
            }
            else if (seen.TryGetValue(target.Name, out var first))
            {
                add($"{key}:Name", $"duplicate target name '{target.Name}' (also Targets:{first})");
            }
            else
            {
                seen.Add(target.Name, i);
            }

            RequireText($"{key}:Tenant", target.Tenant, add);
            RequireText($"{key}:Environment", target.Environment, add);
            if (target.Tier.Length == 0)
            {
                add($"{key}:Tier", "required");
            }
            else if (!options.Tiers.ContainsKey(target.Tier))
            {
                var known = options.Tiers.Count == 0 ? "none" : string.Join(", ", options.Tiers.Keys.Order(StringComparer.Ordinal));
                add($"{key}:Tier", $"unknown tier '{target.Tier}' (known tiers: {known})");
            }

            ValidateConnectionString($"{key}:ConnectionString", target.ConnectionString, add);
            RequireText($"{key}:FilestorePath", target.FilestorePath, add);
            if (target.BackupSchedule.Length == 0)
            {
                add($"{key}:BackupSchedule", "required: a Quartz cron expression, e.g. '0 0 1 * * ?' (01:00 every day)");
            }
            else
            {
                ValidateCron($"{key}:BackupSchedule", target.BackupSchedule, add);
            }

            if (target.DrillSchedule.Length > 0)
            {
                ValidateCron($"{key}:DrillSchedule", target.DrillSchedule, add);
            }

            ValidateDrill($"{key}:Drill", target.Drill, options.Sandbox.RunsOdoo, add);
            ValidatePitr($"{key}:Pitr", target, add);
        }
    }

    private static void ValidatePitr(string key, TargetOptions target, Action<string, string> add)
    {
        var pitr = target.Pitr;
        if (!pitr.Enabled)
        {
            return;
        }

        if (pitr.BaseBackupSchedule.Length == 0)
        {
            add($"{key}:BaseBackupSchedule", "required when Pitr:Enabled: a Quartz cron expression, e.g. '0 0 2 ? * SUN' (02:00 every Sunday)");
        }
        else
        {
            ValidateCron($"{key}:BaseBackupSchedule", pitr.BaseBackupSchedule, add);
        }

        if (!SlotName().IsMatch(pitr.EffectiveSlotName(target.Name)))
        {
            add($"{key}:SlotName", $"'{pitr.EffectiveSlotName(target.Name)}' is not a replication slot name (1-63 lowercase letters, digits and underscores)");
        }

        if (pitr.FlushInterval < TimeSpan.FromSeconds(1) || pitr.FlushInterval > TimeSpan.FromHours(1))
        {
            add($"{key}:FlushInterval", $"{pitr.FlushInterval:c} is outside 00:00:01-01:00:00 (default 00:00:30): it bounds how much the archive lags the source");
        }

        if (pitr.MaxSlotRetainedBytes < 16L << 20)
        {
            add($"{key}:MaxSlotRetainedBytes", $"{pitr.MaxSlotRetainedBytes} is below one WAL segment (16777216); default 8589934592 (8 GiB)");
        }

        if (pitr.RecoveryTimeout <= TimeSpan.Zero)
        {
            add($"{key}:RecoveryTimeout", $"{pitr.RecoveryTimeout:c} is not a positive duration");
        }
    }

    /// <summary>Names the built-in probes take; a custom probe may not shadow one in the drill record.</summary>
    public static readonly IReadOnlySet<string> BuiltInProbeNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "fingerprints", "ledger", "attachments", "recency", "neutralization", "odoo-http", "odoo-xmlrpc",
    };

    /// <param name="sandboxRunsOdoo">The sandbox kind starts an Odoo server itself, so <c>Drill:Odoo:Url</c> may be left empty.</param>
    private static void ValidateDrill(string key, DrillOptions drill, bool sandboxRunsOdoo, Action<string, string> add)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < drill.Probes.Count; i++)
        {
            var probe = drill.Probes[i];
            var probeKey = $"{key}:Probes:{i}";
            if (!ProbeName().IsMatch(probe.Name))
            {
                add($"{probeKey}:Name", $"'{probe.Name}' is not a probe name (1-63 lowercase letters, digits, '-', '_' or '.')");
            }
            else if (BuiltInProbeNames.Contains(probe.Name))
            {
                add($"{probeKey}:Name", $"'{probe.Name}' is the name of a built-in probe; choose another");
            }
            else if (!names.Add(probe.Name))
            {
                add($"{probeKey}:Name", $"duplicate probe name '{probe.Name}'");
            }

            var query = probe.Query.Trim().TrimEnd(';');
            if (query.Length == 0)
            {
                add($"{probeKey}:Query", "required: one SELECT returning one value, e.g. SELECT count(*) FROM res_partner");
            }
            else if (query.Contains(';', StringComparison.Ordinal))
            {
                add($"{probeKey}:Query", "must be one statement (it runs in a read-only transaction and returns one value)");
            }

            var hasBounds = probe.Min is not null || probe.Max is not null;
            if (probe.Expected is null == !hasBounds)
            {
                add($"{probeKey}", "set either Expected (the exact value) or Min and/or Max (numeric bounds), not both and not neither");
            }
            else if (probe.Min > probe.Max)
            {
                add($"{probeKey}:Min", $"{probe.Min} is above Max {probe.Max}");
            }
        }

        if (drill.Odoo is { } odoo)
        {
            if (odoo.ServedBySandbox && sandboxRunsOdoo)
            {
                if (odoo.Database.Length > 0)
                {
                    add($"{key}:Odoo:Database", "leave it empty when the sandbox runs Odoo (no Url): the sandbox's Odoo serves the restored database under its own name");
                }
            }
            else if (odoo.ServedBySandbox)
            {
                add($"{key}:Odoo:Url", "required: the absolute http or https URL of the Odoo server that serves the sandbox, e.g. http://127.0.0.1:8069; "
                    + "or leave it empty and set Sandbox:Kind Kubernetes with Sandbox:Kubernetes:Odoo:Image, and each drill's sandbox runs Odoo itself");
            }
            else if (!IsHttpUri(odoo.Url))
            {
                add($"{key}:Odoo:Url", "must be the absolute http or https URL of the Odoo server that serves the sandbox, e.g. http://127.0.0.1:8069");
            }
            else if (new Uri(odoo.Url).UserInfo.Length > 0)
            {
                add($"{key}:Odoo:Url", "must not carry credentials; set Login and Password");
            }

            RequireText($"{key}:Odoo:Login", odoo.Login, add);
            if (odoo.Password.Length == 0)
            {
                add($"{key}:Odoo:Password", "required: set the drill user's password or API key in the environment or a mounted configuration file");
            }
        }
    }

    private static void ValidateFilestore(FilestoreOptions filestore, Action<string, string> add)
    {
        if (filestore.PackTargetSizeBytes is < FilestoreOptions.MinPackTargetSizeBytes or > FilestoreOptions.MaxPackTargetSizeBytes)
        {
            add("Filestore:PackTargetSizeBytes",
                $"{filestore.PackTargetSizeBytes} is outside {FilestoreOptions.MinPackTargetSizeBytes}-{FilestoreOptions.MaxPackTargetSizeBytes} bytes (default 16777216, 16 MiB)");
        }

        if (filestore.ReadParallelism is < 1 or > 64)
        {
            add("Filestore:ReadParallelism", $"{filestore.ReadParallelism} is outside 1-64");
        }

        if (filestore.UploadParallelism is < 1 or > 64)
        {
            add("Filestore:UploadParallelism", $"{filestore.UploadParallelism} is outside 1-64");
        }

        if (filestore.DownloadParallelism is < 1 or > 64)
        {
            add("Filestore:DownloadParallelism", $"{filestore.DownloadParallelism} is outside 1-64");
        }

        if (filestore.PackGracePeriod < TimeSpan.FromMinutes(10))
        {
            add("Filestore:PackGracePeriod", $"{filestore.PackGracePeriod:c} is shorter than 00:10:00; an unreferenced pack that young may belong to a backup still running");
        }
    }

    private static void ValidateNotifications(NotificationsOptions notifications, Action<string, string> add)
    {
        var email = notifications.Email;
        if (email.IsEnabled)
        {
            if (email.Port is < 1 or > 65535)
            {
                add("Notifications:Email:Port", $"{email.Port} is not a TCP port (1-65535)");
            }

            if (email.From.Length == 0)
            {
                add("Notifications:Email:From", "required when Notifications:Email:Host is set");
            }
            else
            {
                ValidateAddress("Notifications:Email:From", email.From, add);
            }

            if (email.OnCall.Count == 0 && email.Reports.Count == 0)
            {
                add("Notifications:Email:OnCall", "Host is set but nobody receives mail; add OnCall or Reports addresses");
            }
        }
        else if (email.OnCall.Count > 0 || email.Reports.Count > 0)
        {
            add("Notifications:Email:Host", "recipients are listed but no SMTP Host is set");
        }

        for (var i = 0; i < email.OnCall.Count; i++)
        {
            ValidateAddress($"Notifications:Email:OnCall:{i}", email.OnCall[i], add);
        }

        for (var i = 0; i < email.Reports.Count; i++)
        {
            ValidateAddress($"Notifications:Email:Reports:{i}", email.Reports[i], add);
        }

        if (email.TrustedCertificateSha256.Length > 0 && !Sha256Hex().IsMatch(email.TrustedCertificateSha256))
        {
            add("Notifications:Email:TrustedCertificateSha256", "is not a SHA-256 fingerprint (64 hex digits, colons allowed)");
        }

        if (notifications.Attempts is < 1 or > 10)
        {
            add("Notifications:Attempts", $"{notifications.Attempts} is not between 1 and 10");
        }

        var webhook = notifications.Webhook;
        if (webhook.IsEnabled && !IsHttpUri(webhook.Url))
        {
            // The URL is a secret (Slack and Teams put the credential in it): do not echo it.
            add("Notifications:Webhook:Url", "is not an absolute http or https URL");
        }
    }

    private static void ValidateConnectionString(string key, string connectionString, Action<string, string> add)
    {
        if (connectionString.Length == 0)
        {
            add(key, "required, e.g. 'Host=db;Port=5432;Database=acme;Username=backup' (the password comes from the environment or a passfile)");
            return;
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            // The exception text can quote the connection string, which may hold a password: never echo it.
            add(key, "is not a valid PostgreSQL connection string (expected Key=Value pairs such as Host=...;Database=...)");
            return;
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            add(key, "has no Host");
        }

        if (string.IsNullOrWhiteSpace(builder.Database))
        {
            add(key, "has no Database");
        }
    }

    private static void ValidateCron(string key, string expression, Action<string, string> add)
    {
        try
        {
            _ = new CronExpression(expression);
        }
        catch (FormatException e)
        {
            add(key, $"'{expression}' is not a valid Quartz cron expression ({e.Message.TrimEnd('.')}); fields are: seconds minutes hours day-of-month month day-of-week [year], e.g. '0 0 1 * * ?'");
        }
    }

    private static void ValidateEndpoint(string key, string uri, Action<string, string> add)
    {
        if (uri.Length == 0)
        {
            return;
        }

        if (!IsHttpUri(uri))
        {
            add(key, "is not an absolute http or https URL");
        }
        else if (new Uri(uri).UserInfo.Length > 0)
        {
            add(key, "must not carry credentials; use the SDK's credential chain or the secret settings");
        }
    }

    private static void ValidatePrefix(string key, string prefix, Action<string, string> add)
    {
        if (prefix.StartsWith('/') || prefix.Contains('\\', StringComparison.Ordinal)
            || prefix.Split('/').Any(segment => segment is "." or ".."))
        {
            add(key, $"'{prefix}' is not a valid prefix (no leading '/', no backslash, no '.' or '..' segments)");
        }
    }

    private static void ValidateAddress(string key, string address, Action<string, string> add)
    {
        if (!MailAddress.TryCreate(address, out _))
        {
            add(key, $"'{address}' is not an email address");
        }
    }

    private static void RequireText(string key, string value, Action<string, string> add)
    {
        if (value.Length == 0)
        {
            add(key, "required");
        }
    }

    private static bool IsHttpUri(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex S3BucketName();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex AzureContainerName();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")]
    private static partial Regex TargetName();

    [GeneratedRegex("^[a-z0-9_]{1,63}$")]
    private static partial Regex SlotName();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex TierName();

    [GeneratedRegex("^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$")]
    private static partial Regex Sha256Hex();

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]{0,62}$")]
    private static partial Regex ProbeName();

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyCode();
}
