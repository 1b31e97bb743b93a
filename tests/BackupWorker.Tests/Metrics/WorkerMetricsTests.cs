using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Metrics;
using BackupDr.BackupWorker.Scheduling;
using BackupDr.BackupWorker.Tests.Scheduling;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.BackupWorker.Tests.Metrics;

public sealed class WorkerMetricsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private const string Labels = "{target=\"acme-prod\",tenant=\"acme\",environment=\"production\",tier=\"gold\"";

    private static BackupManifest Manifest(DateTimeOffset started) => new()
    {
        BackupId = "20261123T010000000Z-abcdef",
        Target = "acme-prod",
        Tenant = "acme",
        Environment = "production",
        Tier = "gold",
        StartedAt = started,
        CompletedAt = started.AddSeconds(90),
        RecoveryPoint = started.AddSeconds(2),
        Source = new ManifestSource("db", 5432, "acme", "15.8", 150008, "1", "17.0"),
        Tools = new ManifestTools("1.0.0", "15.8"),
        Encryption = new ManifestEncryption("AES-256-GCM-SEGMENTED-1", "k", "dk1.k.x"),
        Objects = [new ManifestObject("database.dump", "k1", "zstd", 1000, "00", 5000), new ManifestObject("evidence.json", "k2", "zstd", 24, "00", 80)],
    };

    private static IEnumerable<string> Lines(string text, string family) => text.Split('\n').Where(l => l.StartsWith(family + "{", StringComparison.Ordinal) || l.StartsWith(family + " ", StringComparison.Ordinal));

    [Fact]
    public void Render_NothingKnown_DeclaresFamiliesButNoTargetSamples()
    {
        var text = new WorkerMetrics(ScheduleOptions.Load(), new FakeTimeProvider(Now)).Render();

        text.ShouldContain("# TYPE backupdr_backup_last_success_timestamp_seconds gauge");
        Lines(text, "backupdr_backup_last_success_timestamp_seconds").ShouldBeEmpty("never backed up is no sample, not a zero");
        Lines(text, "backupdr_backup_age_seconds").ShouldBeEmpty();
        Lines(text, "backupdr_rpo_objective_seconds").ShouldBe([$"backupdr_rpo_objective_seconds{Labels}}} 3600"]);
        text.ShouldEndWith("backupdr_scheduler_started 0\n");
    }

    [Fact]
    public void Render_AfterABackup_ReportsTimeDurationSizeAndAgeThatGrows()
    {
        var time = new FakeTimeProvider(Now);
        var metrics = new WorkerMetrics(ScheduleOptions.Load(), time);
        var started = Now.AddHours(-2);

        metrics.BackupCommitted(Manifest(started));
        metrics.BackupFailed("acme-prod");
        time.Advance(TimeSpan.FromMinutes(10));
        var text = metrics.Render();

        Lines(text, "backupdr_backup_last_success_timestamp_seconds").ShouldBe([$"backupdr_backup_last_success_timestamp_seconds{Labels}}} {started.AddSeconds(90).ToUnixTimeSeconds()}"]);
        Lines(text, "backupdr_backup_last_duration_seconds").ShouldBe([$"backupdr_backup_last_duration_seconds{Labels}}} 90"]);
        Lines(text, "backupdr_backup_last_size_bytes").ShouldBe([$"backupdr_backup_last_size_bytes{Labels}}} 1024"]);
        Lines(text, "backupdr_backup_age_seconds").ShouldBe([$"backupdr_backup_age_seconds{Labels}}} {(2 * 3600) + 600 - 2}"]);
        Lines(text, "backupdr_job_failures_total").ShouldContain($"backupdr_job_failures_total{Labels},kind=\"backup\"}} 1");
    }

    [Fact]
    public async Task ScheduledDrillRunner_DrillFailed_RecordsOutcomeAndCountsAFailure()
    {
        var time = new FakeTimeProvider(Now);
        var options = ScheduleOptions.Load();
        var metrics = new WorkerMetrics(options, time);
        var drills = new RecordingDrillService(new ScheduledDrillResult("d-1", "b-1", ScheduledDrillOutcome.Failed, Now, Now.AddMinutes(20), null, TimeSpan.FromHours(3)));
        var runner = new ScheduledDrillRunner(drills, metrics, NullLogger<ScheduledDrillRunner>.Instance);

        await runner.RunAsync(options.Targets[0], TestContext.Current.CancellationToken);

        drills.Calls.ShouldBe([("acme-prod", DrillBackupChoice.Latest)]);
        var text = metrics.Render();
        Lines(text, "backupdr_drill_last_outcome").ShouldBe([
            $"backupdr_drill_last_outcome{Labels},outcome=\"Passed\"}} 0",
            $"backupdr_drill_last_outcome{Labels},outcome=\"PartiallyFailed\"}} 0",
            $"backupdr_drill_last_outcome{Labels},outcome=\"Failed\"}} 1",
        ]);
        Lines(text, "backupdr_achieved_rpo_seconds").ShouldBe([$"backupdr_achieved_rpo_seconds{Labels}}} 10800"]);
        Lines(text, "backupdr_achieved_rto_seconds").ShouldBeEmpty("no RTO was achieved");
        Lines(text, "backupdr_job_failures_total").ShouldContain($"backupdr_job_failures_total{Labels},kind=\"drill\"}} 1");
    }

    [Fact]
    public void Render_LabelValues_AreEscaped()
    {
        var metrics = new WorkerMetrics(ScheduleOptions.Load(("Targets:0:Tenant", "a\"c\\me")), new FakeTimeProvider(Now));

        metrics.Render().ShouldContain("tenant=\"a\\\"c\\\\me\"");
    }

    [Fact]
    public void Render_JobsRunning_CountsPerKind()
    {
        var metrics = new WorkerMetrics(ScheduleOptions.Load(), new FakeTimeProvider(Now));
        metrics.JobStarted(WorkerJobKind.Backup);
        metrics.JobStarted(WorkerJobKind.Backup);
        metrics.JobEnded(WorkerJobKind.Backup);
        metrics.JobStarted(WorkerJobKind.Prune);

        var text = metrics.Render();

        text.ShouldContain("backupdr_jobs_running{kind=\"backup\"} 1\n");
        text.ShouldContain("backupdr_jobs_running{kind=\"prune\"} 1\n");
        text.ShouldContain("backupdr_jobs_running{kind=\"drill\"} 0\n");
        metrics.JobsRunning.ShouldBe(2);
    }

    [Fact]
    public void GrafanaDashboard_EveryMetricItQueries_IsExported()
    {
        var exported = new WorkerMetrics(ScheduleOptions.Load(), new FakeTimeProvider(Now)).Render().Split('\n')
            .Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[2])
            .ToHashSet(StringComparer.Ordinal);
        var dashboard = File.ReadAllText(Path.Combine(BackupDr.TestSupport.TestEnvironment.RepositoryRoot, "deploy", "grafana", "backupdr-dashboard.json"));

        var queried = System.Text.RegularExpressions.Regex.Matches(dashboard, "backupdr_[a-z_]+").Select(m => m.Value).ToHashSet(StringComparer.Ordinal);

        queried.Count.ShouldBeGreaterThan(10);
        queried.Except(exported).ShouldBeEmpty();
    }

    /// <summary>A test double of the drill seam: answers one result and records what it was asked.</summary>
    private sealed class RecordingDrillService(ScheduledDrillResult result) : IScheduledDrillService
    {
        public List<(string Target, DrillBackupChoice Backup)> Calls { get; } = [];

        public Task<ScheduledDrillResult> RunAsync(TargetOptions target, DrillBackupChoice backup, CancellationToken cancellationToken)
        {
            Calls.Add((target.Name, backup));
            return Task.FromResult(result);
        }
    }
}
