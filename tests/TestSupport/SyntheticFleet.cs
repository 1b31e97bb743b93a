using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Storage;

namespace BackupDr.TestSupport;

/// <summary>One generated target and what was written for it, so tests can compute expected figures directly.</summary>
public sealed record FleetTarget(string Name, string Tenant, string Environment, string Tier, IReadOnlyList<DateTimeOffset> RecoveryPoints, IReadOnlyList<FleetDrill> Drills);

public sealed record FleetDrill(DateTimeOffset StartedAt, double RtoSeconds, double RpoSeconds, string Outcome);

/// <summary>
/// Writes a deterministic fleet's history into a repository with the product's own formats: sealed manifests (daily
/// backups at 01:00 UTC; every 7th target misses two days), sealed drill records (weekly, for
/// the month and the ones before it), an incident per missed backup run, and an alert canary. For the report's tests and its benchmark
/// (bench/report.sh); the backups' data objects are not written (a report never reads them).
/// </summary>
public static class SyntheticFleet
{
    /// <summary>Tier objectives of the generated configuration.</summary>
    public static readonly IReadOnlyDictionary<string, (TimeSpan Rto, TimeSpan Rpo)> Tiers = new Dictionary<string, (TimeSpan, TimeSpan)>
    {
        ["gold"] = (TimeSpan.FromHours(1), TimeSpan.FromHours(25)),
        ["silver"] = (TimeSpan.FromHours(4), TimeSpan.FromHours(49)),
    };

    /// <param name="drillMonths">Months of weekly drills ending with <paramref name="month"/> (12 fills the report's trend).</param>
    internal static async Task<IReadOnlyList<FleetTarget>> WriteAsync(
        IObjectStore store, MasterKey masterKey, int targets, DateOnly month, int drillMonths, CancellationToken cancellationToken)
    {
        var start = new DateTimeOffset(month.Year, month.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var fleet = new List<FleetTarget>();
        var work = new List<Func<Task>>();
        for (var i = 0; i < targets; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"t{i:D4}-{(i % 3 == 0 ? "prod" : i % 3 == 1 ? "stage" : "test")}");
            var tenant = string.Create(CultureInfo.InvariantCulture, $"tenant-{i / 3:D3}");
            var environment = i % 3 == 0 ? "production" : i % 3 == 1 ? "staging" : "test";
            var tier = i % 3 == 0 ? "gold" : "silver";
            var points = new List<DateTimeOffset>();
            for (var day = start.AddDays(-1); day < start.AddMonths(1); day = day.AddDays(1))
            {
                if (i % 7 == 3 && day.Day is 10 or 11 && day >= start)
                {
                    continue;
                }

                points.Add(day.AddHours(1).AddSeconds(i % 60));
            }

            var drills = new List<FleetDrill>();
            for (var weekStart = start.AddMonths(1 - drillMonths); weekStart < start.AddMonths(1); weekStart = weekStart.AddDays(7))
            {
                var when = weekStart.AddDays(1).AddHours(3);
                var rto = 600 + ((i * 37 + when.DayOfYear * 11) % 3600) + (i % 11 == 5 ? 4 * 3600 : 0);
                var outcome = i % 13 == 7 && when >= start ? "Failed" : rto > Tiers[tier].Rto.TotalSeconds ? "PartiallyFailed" : "Passed";
                drills.Add(new FleetDrill(when, rto, 2 * 3600 + (i % 60), outcome));
            }

            var target = new FleetTarget(name, tenant, environment, tier, points, drills);
            fleet.Add(target);
            work.Add(() => WriteTargetAsync(store, masterKey, target, start, cancellationToken));
        }

        await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (w, _) => await w());
        await new CanaryRecord
        {
            At = start.AddDays(2).AddHours(9),
            Kind = CanaryKind.Manual,
            Host = "fleet-generator",
            Deliveries = [new CanaryDelivery("email", true, 1, null)],
        }.WriteAsync(store, cancellationToken);
        return fleet;
    }

    /// <summary>The configuration of the generated fleet (targets and tiers) for the given repository section.</summary>
    public static string Configuration(IReadOnlyList<FleetTarget> fleet, string repositoryJson, string sandboxPath)
    {
        var json = new StringBuilder();
        json.Append(CultureInfo.InvariantCulture, $$"""{ "BackupDr": { "Repository": {{repositoryJson}}, "Sandbox": { "Kind": "Local", "WorkPath": "{{sandboxPath}}" }, "Tiers": { """);
        json.AppendJoin(", ", Tiers.Select(t => string.Create(CultureInfo.InvariantCulture,
            $$"""  "{{t.Key}}": { "Rto": "{{t.Value.Rto:c}}", "Rpo": "{{t.Value.Rpo:c}}", "DrillEvery": "7.00:00:00", "Retention": { "Daily": 14, "Weekly": 8, "Monthly": 12 } }""")));
        json.Append(" }, \"Targets\": [");
        json.AppendJoin(", ", fleet.Select(t => $$"""
            { "Name": "{{t.Name}}", "Tenant": "{{t.Tenant}}", "Environment": "{{t.Environment}}", "Tier": "{{t.Tier}}",
              "ConnectionString": "Host=db;Port=5432;Database={{t.Name}};Username=backup", "FilestorePath": "/var/lib/odoo/filestore/{{t.Name}}",
              "BackupSchedule": "0 0 1 * * ?", "DrillSchedule": "0 0 3 ? * MON" }
            """));
        return json.Append("] } }").ToString();
    }

    private static async Task WriteTargetAsync(IObjectStore store, MasterKey masterKey, FleetTarget target, DateTimeOffset start, CancellationToken cancellationToken)
    {
        string? lastManifestSha = null;
        string? lastBackupId = null;
        foreach (var point in target.RecoveryPoints)
        {
            var id = Id(point.AddSeconds(-1), target.Name);
            using var dataKey = DataKey.Create();
            var manifest = new BackupManifest
            {
                BackupId = id.Value,
                Target = target.Name,
                Tenant = target.Tenant,
                Environment = target.Environment,
                Tier = target.Tier,
                StartedAt = point.AddSeconds(-1),
                CompletedAt = point.AddMinutes(4),
                RecoveryPoint = point,
                Source = new ManifestSource("db", 5432, target.Name, "15.18", 150018, "7301234567890123456", "17.0"),
                Tools = new ManifestTools("synthetic", "pg_dump (PostgreSQL) 15.18"),
                Encryption = new ManifestEncryption("AES-256-GCM-SEGMENTED-1", masterKey.KeyId, ""),
                Objects = [new ManifestObject("database.dump", $"targets/{target.Name}/backups/{id}/database.dump.zst.aesgcm", "zstd", 104_857_600, new string('0', 64), 681_574_400)],
            };
            manifest = manifest with
            {
                Encryption = manifest.Encryption with { WrappedDataKey = RepositoryKeys.WrapDataKey(masterKey, dataKey, BackupManifestSerializer.SealContext(manifest)) },
            };
            var bytes = BackupManifestSerializer.Serialize(manifest);
            using var body = new MemoryStream(bytes, writable: false);
            await store.PutAsync(RepositoryLayout.Manifest(target.Name, id), body, PutOptions.CreateOnly, cancellationToken);
            if (point < start.AddMonths(1))
            {
                (lastBackupId, lastManifestSha) = (id.Value, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }
        }

        var log = new IncidentLog(store);
        var sequence = 0;
        for (var i = 1; i < target.RecoveryPoints.Count; i++)
        {
            var (before, after) = (target.RecoveryPoints[i - 1], target.RecoveryPoints[i]);
            if (after - before <= TimeSpan.FromHours(30))
            {
                continue;
            }

            sequence++;
            var opened = new IncidentMessage
            {
                IncidentId = $"{target.Name}.BackupFailed.{sequence}", Target = target.Name, Tenant = target.Tenant, Environment = target.Environment,
                Rule = AlertRule.BackupFailed, Kind = IncidentMessageKind.Opened, At = before.AddDays(1).AddMinutes(5), Since = before.AddDays(1),
                Summary = "The nightly backup failed.", Details = "synthetic", FirstAction = "Read the backup log.",
            };
            await log.TryClaimAsync(sequence, opened, cancellationToken);
            await log.TryClaimAsync(sequence, opened with { Kind = IncidentMessageKind.Resolved, At = after.AddMinutes(5), Summary = "A backup succeeded." }, cancellationToken);
        }

        var (rtoTarget, rpoTarget) = Tiers[target.Tier];
        foreach (var drill in target.Drills)
        {
            var outcome = Enum.Parse<DrillOutcome>(drill.Outcome);
            var record = new DrillRecord
            {
                DrillId = Id(drill.StartedAt, target.Name).Value,
                Target = target.Name,
                Tenant = target.Tenant,
                Environment = target.Environment,
                Tier = target.Tier,
                BackupId = lastBackupId ?? Id(drill.StartedAt.AddHours(-2), target.Name).Value,
                ManifestSha256 = lastManifestSha ?? new string('0', 64),
                RecoveryPoint = drill.StartedAt.AddSeconds(-drill.RpoSeconds),
                Selection = "latest",
                StartedAt = drill.StartedAt,
                CompletedAt = drill.StartedAt.AddSeconds(drill.RtoSeconds),
                Outcome = outcome,
                Reasons = outcome == DrillOutcome.Passed ? [] : ["synthetic"],
                Phases = [new DrillPhaseRecord(DrillPhase.DatabaseRestore, PhaseStatus.Completed, drill.RtoSeconds * 0.8, null)],
                Probes = [new ProbeRecord("fingerprints", true, outcome == DrillOutcome.Failed ? ProbeStatus.Failed : ProbeStatus.Passed, 1.5, "synthetic")],
                Rto = new ObjectiveRecord(outcome == DrillOutcome.Failed ? null : drill.RtoSeconds, rtoTarget.TotalSeconds,
                    outcome == DrillOutcome.Failed ? null : drill.RtoSeconds <= rtoTarget.TotalSeconds, null),
                Rpo = new ObjectiveRecord(drill.RpoSeconds, rpoTarget.TotalSeconds, drill.RpoSeconds <= rpoTarget.TotalSeconds, null),
                Sandbox = new SandboxRecord("local", "synthetic", "15.18"),
                Tools = new DrillTools("synthetic", "pg_restore (PostgreSQL) 15.18"),
                Host = "fleet-generator",
            };
            await DrillRecords.WriteAsync(store, masterKey, record, cancellationToken);
        }
    }

    private static BackupId Id(DateTimeOffset at, string salt) =>
        BackupId.Parse(string.Create(CultureInfo.InvariantCulture,
            $"{at.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(salt + at.Ticks)))[..6]}"));
}
