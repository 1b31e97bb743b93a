using System.Globalization;
using System.Text.Json.Nodes;

namespace BackupDr.Repository.Configuration;

/// <summary>The effective configuration as JSON, in the shape of appsettings.json, with every secret masked.</summary>
public static class ConfigurationDisplay
{
    public static JsonObject ToJson(BackupDrOptions options)
    {
        var repository = options.Repository;
        var email = options.Notifications.Email;
        return new JsonObject
        {
            ["Repository"] = new JsonObject
            {
                ["Kind"] = repository.Kind.ToString(),
                ["Path"] = repository.Path,
                ["S3"] = new JsonObject
                {
                    ["Bucket"] = repository.S3.Bucket,
                    ["Prefix"] = repository.S3.Prefix,
                    ["ServiceUrl"] = SecretMasker.Url(repository.S3.ServiceUrl),
                    ["Region"] = repository.S3.Region,
                    ["ForcePathStyle"] = repository.S3.ForcePathStyle,
                },
                ["Azure"] = new JsonObject
                {
                    ["ServiceUri"] = SecretMasker.Url(repository.Azure.ServiceUri),
                    ["Container"] = repository.Azure.Container,
                    ["Prefix"] = repository.Azure.Prefix,
                    ["ConnectionString"] = SecretMasker.ConnectionString(repository.Azure.ConnectionString),
                },
                ["PassphraseFile"] = repository.PassphraseFile,
                ["Passphrase"] = SecretMasker.Secret(repository.Passphrase),
                ["PricePerGbMonth"] = repository.PricePerGbMonth,
                ["Currency"] = repository.Currency,
            },
            ["Tiers"] = new JsonObject(options.Tiers.Select(t => KeyValuePair.Create<string, JsonNode?>(t.Key, new JsonObject
            {
                ["Rto"] = t.Value.Rto.ToString("c"),
                ["Rpo"] = t.Value.Rpo.ToString("c"),
                ["DrillEvery"] = t.Value.DrillEvery.ToString("c"),
                ["Retention"] = new JsonObject
                {
                    ["Daily"] = t.Value.Retention.Daily,
                    ["Weekly"] = t.Value.Retention.Weekly,
                    ["Monthly"] = t.Value.Retention.Monthly,
                    ["KeepWithin"] = t.Value.Retention.KeepWithin.ToString("c"),
                    ["PitrWindow"] = t.Value.Retention.PitrWindow.ToString("c"),
                },
                ["Blackouts"] = Strings(t.Value.Blackouts),
                ["Sandbox"] = new JsonObject
                {
                    ["CpuMillicores"] = t.Value.Sandbox.CpuMillicores,
                    ["MemoryBytes"] = t.Value.Sandbox.MemoryBytes,
                    ["StorageBytes"] = t.Value.Sandbox.StorageBytes,
                },
            }))),
            ["Targets"] = new JsonArray(options.Targets.Select(t => (JsonNode)WithPitr(t, new JsonObject
            {
                ["Name"] = t.Name,
                ["Tenant"] = t.Tenant,
                ["Environment"] = t.Environment,
                ["Tier"] = t.Tier,
                ["ConnectionString"] = SecretMasker.ConnectionString(t.ConnectionString),
                ["FilestorePath"] = t.FilestorePath,
                ["IncludeUnreferencedFiles"] = t.IncludeUnreferencedFiles,
                ["BackupSchedule"] = t.BackupSchedule,
                ["DrillSchedule"] = t.DrillSchedule,
                ["Drill"] = new JsonObject
                {
                    ["RecencyWindow"] = t.Drill.RecencyWindow?.ToString("c"),
                    ["Probes"] = new JsonArray(t.Drill.Probes.Select(p => (JsonNode)new JsonObject
                    {
                        ["Name"] = p.Name,
                        ["Query"] = p.Query,
                        ["Expected"] = p.Expected,
                        ["Min"] = p.Min,
                        ["Max"] = p.Max,
                        ["Critical"] = p.Critical,
                        ["Timeout"] = p.Timeout.ToString("c"),
                    }).ToArray()),
                    ["Odoo"] = t.Drill.Odoo is { } odoo
                        ? new JsonObject
                        {
                            ["Url"] = SecretMasker.Url(odoo.Url),
                            ["Database"] = odoo.Database,
                            ["Login"] = odoo.Login,
                            ["Password"] = SecretMasker.Secret(odoo.Password),
                            ["Timeout"] = odoo.Timeout.ToString("c"),
                        }
                        : null,
                },
                ["Blackouts"] = Strings(t.Blackouts),
            })).ToArray()),
            ["Filestore"] = new JsonObject
            {
                ["PackTargetSizeBytes"] = options.Filestore.PackTargetSizeBytes,
                ["ReadParallelism"] = options.Filestore.ReadParallelism,
                ["UploadParallelism"] = options.Filestore.UploadParallelism,
                ["DownloadParallelism"] = options.Filestore.DownloadParallelism,
                ["PackGracePeriod"] = options.Filestore.PackGracePeriod.ToString("c"),
            },
            ["Sandbox"] = new JsonObject
            {
                ["Kind"] = options.Sandbox.Kind.ToString(),
                ["WorkPath"] = options.Sandbox.WorkPath,
                ["Kubernetes"] = Kubernetes(options.Sandbox.Kubernetes),
            },
            ["Http"] = new JsonObject { ["Port"] = options.Http.Port },
            ["Notifications"] = new JsonObject
            {
                ["Email"] = new JsonObject
                {
                    ["Host"] = email.Host,
                    ["Port"] = email.Port,
                    ["UseTls"] = email.UseTls,
                    ["TrustedCertificateSha256"] = email.TrustedCertificateSha256,
                    ["Username"] = email.Username,
                    ["Password"] = SecretMasker.Secret(email.Password),
                    ["From"] = email.From,
                    ["OnCall"] = new JsonArray(email.OnCall.Select(a => (JsonNode)a).ToArray()),
                    ["Reports"] = new JsonArray(email.Reports.Select(a => (JsonNode)a).ToArray()),
                },
                ["Webhook"] = new JsonObject
                {
                    ["Url"] = SecretMasker.Url(options.Notifications.Webhook.Url),
                    ["Secret"] = SecretMasker.Secret(options.Notifications.Webhook.Secret),
                },
                ["Attempts"] = options.Notifications.Attempts,
                ["RetryDelay"] = options.Notifications.RetryDelay.ToString("c", CultureInfo.InvariantCulture),
                ["ReminderEvery"] = options.Notifications.ReminderEvery.ToString("c", CultureInfo.InvariantCulture),
            },
            ["Logging"] = new JsonObject
            {
                ["Json"] = options.Logging.Json,
                ["MinimumLevel"] = options.Logging.MinimumLevel.ToString(),
            },
            ["Scheduler"] = Scheduler(options.Scheduler),
        };
    }

    private static JsonObject Scheduler(SchedulerOptions scheduler) => new()
    {
        ["Clustered"] = scheduler.Clustered,
        ["ConnectionString"] = SecretMasker.ConnectionString(scheduler.ConnectionString),
        ["InstanceId"] = scheduler.InstanceId,
        ["MaxConcurrentBackups"] = scheduler.MaxConcurrentBackups,
        ["MaxConcurrentDrills"] = scheduler.MaxConcurrentDrills,
        ["MaxConcurrentJobsPerReplica"] = scheduler.MaxConcurrentJobsPerReplica,
        ["Jitter"] = scheduler.Jitter.ToString("c"),
        ["TimeZone"] = scheduler.TimeZone,
        ["PruneSchedule"] = scheduler.PruneSchedule,
        ["HeartbeatInterval"] = scheduler.HeartbeatInterval.ToString("c"),
        ["ShutdownTimeout"] = scheduler.ShutdownTimeout.ToString("c"),
        ["MisfireThreshold"] = scheduler.MisfireThreshold.ToString("c"),
        ["ClusterCheckinInterval"] = scheduler.ClusterCheckinInterval.ToString("c"),
        ["ClusterCheckinMisfireThreshold"] = scheduler.ClusterCheckinMisfireThreshold.ToString("c"),
        ["Blackouts"] = new JsonObject(scheduler.Blackouts.Select(b => KeyValuePair.Create<string, JsonNode?>(b.Key, new JsonObject
        {
            ["Cron"] = b.Value.Cron,
            ["LastBusinessDaysOfMonth"] = b.Value.LastBusinessDaysOfMonth,
        }))),
    };

    private static JsonArray Strings(IReadOnlyList<string> values) => new(values.Select(v => (JsonNode)v).ToArray());
    private static JsonObject Kubernetes(KubernetesSandboxOptions kubernetes) => new()
    {
        ["Kubeconfig"] = kubernetes.Kubeconfig,
        ["Context"] = kubernetes.Context,
        ["NamespacePrefix"] = kubernetes.NamespacePrefix,
        ["PostgresImages"] = new JsonObject(kubernetes.PostgresImages.OrderBy(i => i.Key)
            .Select(i => KeyValuePair.Create<string, JsonNode?>(i.Key.ToString(CultureInfo.InvariantCulture), i.Value))),
        ["ReadyTimeout"] = kubernetes.ReadyTimeout.ToString("c", CultureInfo.InvariantCulture),
        ["DeleteTimeout"] = kubernetes.DeleteTimeout.ToString("c", CultureInfo.InvariantCulture),
        ["Expiry"] = kubernetes.Expiry.ToString("c", CultureInfo.InvariantCulture),
        ["RepositoryEgress"] = new JsonArray(kubernetes.RepositoryEgress.Select(e => (JsonNode)new JsonObject
        {
            ["Cidrs"] = Strings(e.Cidrs),
            ["Ports"] = new JsonArray(e.Ports.Select(p => (JsonNode)p).ToArray()),
        }).ToArray()),
        ["ImagePullSecrets"] = Strings(kubernetes.ImagePullSecrets),
        ["RunAsUser"] = kubernetes.RunAsUser,
        ["Odoo"] = new JsonObject
        {
            ["Image"] = kubernetes.Odoo.Image,
            ["Images"] = new JsonObject(kubernetes.Odoo.Images.OrderBy(i => i.Key, StringComparer.Ordinal)
                .Select(i => KeyValuePair.Create(i.Key, (JsonNode?)i.Value))),
            ["Port"] = kubernetes.Odoo.Port,
            ["CpuMillicores"] = kubernetes.Odoo.CpuMillicores,
            ["MemoryBytes"] = kubernetes.Odoo.MemoryBytes,
            ["StorageBytes"] = kubernetes.Odoo.StorageBytes,
            ["RunAsUser"] = kubernetes.Odoo.RunAsUser,
        },
    };

    /// <summary>Adds the Pitr section only when it is enabled, so targets without it display as before.</summary>
    private static JsonObject WithPitr(TargetOptions target, JsonObject display)
    {
        if (target.Pitr.Enabled)
        {
            display["Pitr"] = new JsonObject
            {
                ["Enabled"] = true,
                ["SlotName"] = target.Pitr.EffectiveSlotName(target.Name),
                ["BaseBackupSchedule"] = target.Pitr.BaseBackupSchedule,
                ["FlushInterval"] = target.Pitr.FlushInterval.ToString("c"),
                ["MaxSlotRetainedBytes"] = target.Pitr.MaxSlotRetainedBytes,
                ["RecoveryTimeout"] = target.Pitr.RecoveryTimeout.ToString("c"),
            };
        }

        return display;
    }
}
