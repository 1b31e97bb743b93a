using BackupDr.Reporting.Alerts;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.Reporting.Tests.Alerts;

public sealed class AlertRulesTests
{
    internal static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    internal static readonly TargetOptions Target = new() { Name = "acme-prod", Tenant = "acme", Environment = "production", Tier = "gold" };
    private static readonly Dictionary<string, TierOptions> Tiers = new()
    {
        ["gold"] = new TierOptions { Rto = TimeSpan.FromHours(1), Rpo = TimeSpan.FromHours(24), DrillEvery = TimeSpan.FromDays(7), Retention = new RetentionOptions() },
    };

    [Fact]
    public void Evaluate_BackupWithinRpo_IsClear()
    {
        var verdict = Missing(Manifest(Now.AddHours(-23)), heartbeat: Now);

        verdict.Firing.ShouldBeFalse();
    }

    [Fact]
    public void Evaluate_BackupOlderThanRpoAndWorkerAlive_FiresSayingTheBackupsFail()
    {
        var verdict = Missing(Manifest(Now.AddHours(-30)), heartbeat: Now.AddMinutes(-2));

        verdict.Firing.ShouldBeTrue();
        verdict.Summary.ShouldBe("No good backup within the recovery-point target of 1 d 0 h: the newest is 1 d 6 h old.");
        verdict.Details.ShouldContain("The worker is alive");
        verdict.Since.ShouldBe(Now.AddHours(-6));
    }

    [Fact]
    public void Evaluate_WorkerSilent_FiresAsADeadMansSwitch()
    {
        var verdict = Missing(Manifest(Now.AddHours(-30)), heartbeat: Now.AddHours(-7));

        verdict.Firing.ShouldBeTrue();
        verdict.Details.ShouldBe("The worker itself has been silent since 2026-11-23 05:00 UTC (no heartbeat in the repository).");
        verdict.FirstAction.ShouldContain("backupdr run");
    }

    [Fact]
    public void Evaluate_NeverBackedUp_Fires()
    {
        var verdict = Missing(null, heartbeat: null);

        verdict.Firing.ShouldBeTrue();
        verdict.Summary.ShouldContain("there has never been one");
        verdict.Details.ShouldBe("No worker has ever written a heartbeat to this repository.");
    }

    [Theory]
    [InlineData("Passed", true, true, "")]
    [InlineData("Failed", null, true, "DrillFailed")]
    [InlineData("PartiallyFailed", false, true, "DrillFailed,RtoMissed")]
    [InlineData("PartiallyFailed", true, false, "DrillFailed,RpoMissed")]
    public void Evaluate_LatestDrill_FiresExactlyTheRulesItBreaks(string outcome, bool? rtoMet, bool rpoMet, string firing)
    {
        var state = new TargetState(Target, Manifest(Now.AddHours(-1)), Drill(Enum.Parse<DrillOutcome>(outcome), rtoMet, rpoMet));

        var verdicts = AlertRules.Evaluate(Tiers, [state], Now, TimeSpan.FromMinutes(5), Now);

        string.Join(',', verdicts.Where(v => v.Firing).Select(v => v.Rule)).ShouldBe(firing);
        verdicts.Select(v => v.Rule).ShouldContain(AlertRule.DrillFailed);
    }

    [Fact]
    public void Evaluate_LatestDrillWithCleanupError_FiresSandboxCleanupWithTheError()
    {
        var drill = Drill(DrillOutcome.Passed, true, true) with
        {
            Sandbox = new SandboxRecord("kubernetes", "backupdr-drill-acme-prod-0123456789ab", "15.18") { CleanupError = "namespace backupdr-drill-acme-prod-0123456789ab is still Terminating" },
        };

        var verdicts = AlertRules.Evaluate(Tiers, [new TargetState(Target, Manifest(Now.AddHours(-1)), drill)], Now, TimeSpan.FromMinutes(5), Now);

        var cleanup = verdicts.Where(v => v.Firing).ShouldHaveSingleItem();
        cleanup.Rule.ShouldBe(AlertRule.SandboxCleanupFailed);
        cleanup.Details.ShouldContain("still Terminating");
    }

    [Fact]
    public async Task EveryRule_FiresThenResolves_ThroughTheEngine()
    {
        var store = new InMemoryObjectStore();
        var time = new FakeTimeProvider(Now);
        var notifier = new Recorder();
        var options = new NotificationsOptions { Email = new EmailOptions(), Webhook = new WebhookOptions(), Attempts = 1 };
        var engine = new AlertEngine(new IncidentLog(store), new NotificationDispatcher([notifier], options, time, NullLogger.Instance), options, time, NullLogger.Instance);
        IEnumerable<RuleVerdict> All(bool bad) =>
        [
            AlertRules.BackupRun(Target, bad ? "pg_dump exited with code 1" : null, time.GetUtcNow(), "b1"),
            AlertRules.Verify(Target, "b1", bad ? ["targets/acme-prod/backups/b1/database.dump.zst.aesgcm: SHA-256 mismatch"] : [], time.GetUtcNow()),
            AlertRules.FilestoreDamage(Target, "b1", bad ? ["ab/ab12...: missing"] : [], time.GetUtcNow()),
            AlertRules.PitrArchive(Target, new Repository.Wal.PitrStatus("acme-prod", "backupdr_acme_prod", 1, 16 << 20,
                bad ? Now.AddHours(-1) : time.GetUtcNow(), "0/3000000", "0/3000000", 0, 0, time.GetUtcNow(), "vm"), time.GetUtcNow()),
            AlertRules.PitrArchiveHole(Target, new Repository.Wal.WalContinuity([Manifest(Now.AddDays(-1))], new Repository.Wal.WalChainReport(
                "000000010000000000000010", "000000010000000000000015", 6,
                bad ? [new Repository.Wal.WalGap("000000010000000000000012", "000000010000000000000012", 1, "missing")] : [], []), null, null), time.GetUtcNow()),
            .. AlertRules.Evaluate(Tiers, [new TargetState(Target, Manifest(bad ? Now.AddDays(-3) : Now), Drill(bad ? DrillOutcome.PartiallyFailed : DrillOutcome.Passed, !bad, !bad) with
            {
                Sandbox = new SandboxRecord("kubernetes", "backupdr-drill-acme-prod-0123456789ab", "15.18")
                {
                    CleanupError = bad ? "namespace backupdr-drill-acme-prod-0123456789ab is still Terminating after 00:05:00" : null,
                },
            })],
                Now, TimeSpan.FromMinutes(5), time.GetUtcNow()),
        ];

        await engine.ApplyAsync(All(bad: true), TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromMinutes(30));
        await engine.ApplyAsync(All(bad: false), TestContext.Current.CancellationToken);

        var rules = Enum.GetValues<AlertRule>().Where(r => r != AlertRule.Test).ToList();
        notifier.Messages.Where(m => m.State == AlertState.Firing).Select(m => m.Rule).ShouldBe(rules, ignoreOrder: true);
        notifier.Messages.Where(m => m.State == AlertState.Resolved).Select(m => m.Rule).ShouldBe(rules, ignoreOrder: true);
        notifier.Messages.ShouldAllBe(m => m.Target == "acme-prod" && m.Tenant == "acme" && m.FirstAction.Length > 0);
    }

    [Fact]
    public void PitrArchive_SlotRetainsMoreThanAllowed_FiresNamingTheSlot()
    {
        var target = Target with { Pitr = new PitrOptions { Enabled = true, BaseBackupSchedule = "0 0 2 ? * SUN", MaxSlotRetainedBytes = 1L << 30 } };
        var status = new Repository.Wal.PitrStatus("acme-prod", "backupdr_acme_prod", 1, 16 << 20, Now, "0/3000000", "5/0", 2L << 30, 0, Now, "vm");

        var verdict = AlertRules.PitrArchive(target, status, Now);

        verdict.Firing.ShouldBeTrue();
        verdict.Summary.ShouldContain("slot backupdr_acme_prod holds 2147483648 bytes");
        AlertRules.PitrArchive(target, status with { SlotRetainedBytes = 0 }, Now.AddSeconds(30)).Firing.ShouldBeFalse();
        AlertRules.PitrArchive(target, status with { SlotRetainedBytes = 0 }, Now.AddMinutes(10)).Firing.ShouldBeTrue();
    }

    [Fact]
    public async Task PitrArchiveHole_GapWithNoBaseBackupAfterIt_FiresFromTheFirstMissingSegmentAndAsksForABaseBackupFirst()
    {
        var target = Target with { Pitr = new PitrOptions { Enabled = true, BaseBackupSchedule = "0 0 2 ? * SUN" } };
        const long Size = Repository.Wal.WalSegmentName.DefaultSegmentSizeBytes;
        var baseBackup = Manifest(Now.AddDays(-2)) with
        {
            Pitr = new ManifestPitr(ManifestPitr.BaseKind, "0/10000028", "0/10000100", 1, "000000010000000000000010", "000000010000000000000010", Size, "slot"),
        };
        var segments = new ulong[] { 0x10, 0x11, 0x14, 0x15 }.Select(s => new Repository.Wal.WalSegmentName(1, s).Format(Size))
            .Select(n => new Repository.Wal.ArchivedWal(ObjectKey.Parse($"targets/acme-prod/wal/00000001/{n}.{new string('a', 64)}.zst.aesgcm"),
                Repository.Wal.WalObjectKind.Segment, n, 1, new string('a', 64), 100, ""))
            .ToList();
        var chain = await Repository.Wal.WalChain.CheckAsync(new Repository.Wal.WalListing(segments, []),
            new Repository.Wal.WalSegmentName(1, 0x10), Size, _ => Task.FromResult(""));
        var brokeAt = Now.AddHours(-20);

        var verdict = AlertRules.PitrArchiveHole(target, new Repository.Wal.WalContinuity([baseBackup], chain, brokeAt, null), Now);

        verdict.Firing.ShouldBeTrue();
        verdict.Rule.ShouldBe(AlertRule.PitrArchiveHole);
        verdict.Summary.ShouldStartWith("The point-in-time promise of acme-prod is broken from WAL segment 000000010000000000000012 (WAL written after about 2026-11-22 16:00:00 UTC)");
        verdict.Summary.ShouldContain("No base backup was taken after it");
        verdict.Details.ShouldBe("gap: 000000010000000000000012..000000010000000000000013 (2 segments) missing");
        verdict.FirstAction.ShouldStartWith("First take a base backup now ('backupdr pitr base-backup --target acme-prod')");
        verdict.Since.ShouldBe(brokeAt);
        AlertRules.PitrArchiveHole(target, new Repository.Wal.WalContinuity([], null, null, null), Now).Firing.ShouldBeFalse();
    }

    private static RuleVerdict Missing(BackupManifest? latest, DateTimeOffset? heartbeat) =>
        AlertRules.Evaluate(Tiers, [new TargetState(Target, latest, null)], heartbeat, TimeSpan.FromMinutes(5), Now)
            .Single(v => v.Rule == AlertRule.BackupMissing);

    private static BackupManifest Manifest(DateTimeOffset recoveryPoint) => new()
    {
        BackupId = "20261123T010000000Z-abcdef",
        Target = Target.Name,
        Tenant = Target.Tenant,
        Environment = Target.Environment,
        Tier = Target.Tier,
        StartedAt = recoveryPoint,
        CompletedAt = recoveryPoint.AddMinutes(5),
        RecoveryPoint = recoveryPoint,
        Source = new ManifestSource("db", 5432, "acme", "15.18", 150018, "1", "17.0"),
        Tools = new ManifestTools("test", "pg_dump 15"),
        Encryption = new ManifestEncryption("AES-256-GCM-SEGMENTED-1", "k", ""),
        Objects = [],
    };

    internal static DrillRecord Drill(DrillOutcome outcome, bool? rtoMet, bool rpoMet) => new()
    {
        DrillId = "20261123T030000000Z-123456",
        Target = Target.Name,
        Tenant = Target.Tenant,
        Environment = Target.Environment,
        Tier = Target.Tier,
        BackupId = "20261123T010000000Z-abcdef",
        ManifestSha256 = new string('a', 64),
        RecoveryPoint = Now.AddHours(-3),
        Selection = "latest",
        StartedAt = Now.AddHours(-1),
        CompletedAt = Now.AddMinutes(-10),
        Outcome = outcome,
        Reasons = outcome == DrillOutcome.Passed ? [] : ["probe ledger failed"],
        Phases = [],
        Probes = [],
        Rto = new ObjectiveRecord(rtoMet is null ? null : 3000, 3600, rtoMet, null),
        Rpo = new ObjectiveRecord(7200, 86400, rpoMet, null),
        Sandbox = new SandboxRecord("local", "s", "15.18"),
        Tools = new DrillTools("test", "pg_restore 15"),
        Host = "h",
    };

    private sealed class Recorder : INotifier
    {
        public List<AlertMessage> Messages { get; } = [];

        public string Name => "recorder";

        public Task SendAsync(AlertMessage message, CancellationToken cancellationToken)
        {
            Messages.Add(message);
            return Task.CompletedTask;
        }
    }
}
