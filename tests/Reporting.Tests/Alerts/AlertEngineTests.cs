using BackupDr.Reporting.Alerts;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace BackupDr.Reporting.Tests.Alerts;

public sealed class AlertEngineTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    private readonly InMemoryObjectStore _store = new();
    private readonly FakeTimeProvider _time = new(Start);
    private readonly RecordingNotifier _notifier = new();
    private readonly NotificationsOptions _options = new()
    {
        Email = new EmailOptions(),
        Webhook = new WebhookOptions(),
        ReminderEvery = TimeSpan.FromHours(4),
    };

    [Fact]
    public async Task ApplyAsync_FiringThenStillFiring_AlertsOnceThenRemindsEveryInterval()
    {
        var engine = Engine();

        await engine.ApplyAsync([Firing()], Ct);
        _time.Advance(TimeSpan.FromHours(1));
        await engine.ApplyAsync([Firing()], Ct);
        _time.Advance(TimeSpan.FromHours(3));
        await engine.ApplyAsync([Firing()], Ct);
        await engine.ApplyAsync([Firing()], Ct);

        _notifier.States.ShouldBe([AlertState.Firing, AlertState.Reminder]);
        _notifier.Messages.Select(m => m.IncidentId).Distinct().ShouldHaveSingleItem().ShouldBe("acme-prod.BackupFailed.1");
        _notifier.Messages[1].Since.ShouldBe(Start.AddHours(-1));
    }

    [Fact]
    public async Task ApplyAsync_Clears_ResolvesOnceThenANewFailureOpensANewIncident()
    {
        var engine = Engine();
        await engine.ApplyAsync([Firing()], Ct);
        _time.Advance(TimeSpan.FromMinutes(90));

        await engine.ApplyAsync([Clear()], Ct);
        await engine.ApplyAsync([Clear()], Ct);
        _time.Advance(TimeSpan.FromDays(1));
        await engine.ApplyAsync([Firing()], Ct);

        _notifier.States.ShouldBe([AlertState.Firing, AlertState.Resolved, AlertState.Firing]);
        _notifier.Messages[1].Summary.ShouldBe("backup 20261123T033000Z succeeded");
        _notifier.Messages[1].FirstAction.ShouldContain("lasted 2 h 30 min");
        _notifier.Messages[2].IncidentId.ShouldBe("acme-prod.BackupFailed.2");
        var incidents = await new IncidentLog(_store).ListAsync("acme-prod", Ct);
        incidents.Count.ShouldBe(2);
        incidents[0].ResolvedAt.ShouldBe(Start.AddMinutes(90));
        incidents[1].IsOpen.ShouldBeTrue();
    }

    [Fact]
    public async Task ApplyAsync_AfterARestart_NeitherRepeatsNorForgets()
    {
        await Engine().ApplyAsync([Firing()], Ct);
        _time.Advance(TimeSpan.FromHours(2));

        var restarted = Engine();
        await restarted.ApplyAsync([Firing()], Ct);
        _time.Advance(TimeSpan.FromHours(2));
        await restarted.ApplyAsync([Firing()], Ct);

        _notifier.States.ShouldBe([AlertState.Firing, AlertState.Reminder]);
    }

    [Fact]
    public async Task ApplyAsync_TwoReplicasAtOnce_SendOneAlert()
    {
        await Task.WhenAll(Engine().ApplyAsync([Firing()], Ct), Engine().ApplyAsync([Firing()], Ct));

        _notifier.States.ShouldBe([AlertState.Firing]);
    }

    [Fact]
    public async Task ApplyAsync_ClaimWhoseSenderDied_IsTakenOverOnceAfterTheTimeout()
    {
        var log = new IncidentLog(_store);
        var orphan = new IncidentMessage
        {
            IncidentId = "acme-prod.BackupFailed.1", Target = "acme-prod", Tenant = "acme", Environment = "production",
            Rule = AlertRule.BackupFailed, Kind = IncidentMessageKind.Opened, At = Start, Since = Start, Summary = "backup failed",
            Details = "", FirstAction = "look",
        };
        (await log.TryClaimAsync(1, orphan, Ct)).ShouldBeTrue();

        await Engine().ApplyAsync([Firing()], Ct);
        _notifier.Messages.ShouldBeEmpty();
        _time.Advance(AlertEngine.ClaimTimeout);
        await Engine().ApplyAsync([Firing()], Ct);
        await Engine().ApplyAsync([Firing()], Ct);

        _notifier.States.ShouldBe([AlertState.Firing]);
        (await log.ReadLatestAsync("acme-prod", AlertRule.BackupFailed, Ct))!.Sent.Keys.ShouldBe(["opened"]);
    }

    [Fact]
    public async Task ApplyAsync_NotifierDown_RecordsTheFailedDeliveryAndRemindsLater()
    {
        _notifier.Failing = true;
        var engine = Engine();

        await engine.ApplyAsync([Firing()], Ct);
        _notifier.Failing = false;
        _time.Advance(TimeSpan.FromHours(4));
        await engine.ApplyAsync([Firing()], Ct);

        var incident = (await new IncidentLog(_store).ReadLatestAsync("acme-prod", AlertRule.BackupFailed, Ct))!;
        incident.Sent["opened"].Deliveries.ShouldHaveSingleItem().Delivered.ShouldBeFalse();
        incident.Sent["reminder-0001"].Deliveries.ShouldHaveSingleItem().Delivered.ShouldBeTrue();
    }

    [Fact]
    public async Task ApplyAsync_ClearWithNothingOpen_SendsNothing()
    {
        await Engine().ApplyAsync([Clear()], Ct);

        _notifier.Messages.ShouldBeEmpty();
        (await new IncidentLog(_store).ListAsync(null, Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task ApplyAsync_RulesAndTargetsAreIndependentIncidents()
    {
        await Engine().ApplyAsync([Firing(), Firing() with { Rule = AlertRule.DrillFailed }, Firing() with { Target = "beta-prod" }], Ct);

        _notifier.Messages.Select(m => m.IncidentId).ShouldBe(["acme-prod.BackupFailed.1", "acme-prod.DrillFailed.1", "beta-prod.BackupFailed.1"]);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private AlertEngine Engine() => new(
        new IncidentLog(_store),
        new NotificationDispatcher([_notifier], _options with { Attempts = 1 }, _time, NullLogger.Instance),
        _options,
        _time,
        NullLogger.Instance);

    private static RuleVerdict Firing() => new(
        "acme-prod", "acme", "production", AlertRule.BackupFailed, Firing: true, "The nightly backup failed.", "pg_dump exited with code 1",
        "Read the backup log.", Start.AddHours(-1));

    private static RuleVerdict Clear() => Firing() with { Firing = false, Summary = "backup 20261123T033000Z succeeded" };

    private sealed class RecordingNotifier : INotifier
    {
        private readonly List<AlertMessage> _messages = [];

        public bool Failing { get; set; }

        public string Name => "recording";

        public List<AlertMessage> Messages
        {
            get
            {
                lock (_messages)
                {
                    return [.. _messages];
                }
            }
        }

        public List<AlertState> States => [.. Messages.Select(m => m.State)];

        public Task SendAsync(AlertMessage message, CancellationToken cancellationToken)
        {
            if (Failing)
            {
                throw new NotificationException("relay down", isTransient: false);
            }

            lock (_messages)
            {
                _messages.Add(message);
            }

            return Task.CompletedTask;
        }
    }
}
