using System.Globalization;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging;

namespace BackupDr.Reporting.Alerts;

/// <summary>
/// A rule's verdict on one target at one evaluation: firing or clear, with the words on-call will read.
/// </summary>
/// <param name="Summary">Firing: what happened. Clear: what cleared it (e.g. "backup X succeeded").</param>
/// <param name="Since">When the problem began (the first failure or the moment the target went stale).</param>
internal sealed record RuleVerdict(
    string Target,
    string Tenant,
    string Environment,
    AlertRule Rule,
    bool Firing,
    string Summary,
    string Details,
    string FirstAction,
    DateTimeOffset Since);

/// <summary>
/// Turns verdicts into incidents, not floods: the first firing verdict opens an incident and alerts; while it stays
/// open, a reminder goes out every Notifications:ReminderEvery; the first clear verdict resolves it and says so. The
/// state lives in the repository (<see cref="IncidentLog"/>), and every message is claimed create-only before it is
/// sent, so restarts and replicas neither repeat nor lose one; a claim whose writer died before recording the send
/// is taken over after <see cref="ClaimTimeout"/>. Notifier failures are logged and recorded, never thrown.
/// </summary>
internal sealed partial class AlertEngine(IncidentLog log, NotificationDispatcher dispatcher, NotificationsOptions options, TimeProvider time, ILogger logger)
{
    public static readonly TimeSpan ClaimTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Applies each verdict in turn; returns the messages sent (or attempted) by this call.</summary>
    public async Task<IReadOnlyList<AlertMessage>> ApplyAsync(IEnumerable<RuleVerdict> verdicts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        var sent = new List<AlertMessage>();
        foreach (var verdict in verdicts)
        {
            if (await ApplyAsync(verdict, cancellationToken) is { } message)
            {
                sent.Add(message);
            }
        }

        return sent;
    }

    private async Task<AlertMessage?> ApplyAsync(RuleVerdict verdict, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var latest = await log.ReadLatestAsync(verdict.Target, verdict.Rule, cancellationToken);
        if (latest is not { IsOpen: true } open)
        {
            if (!verdict.Firing)
            {
                return null;
            }

            var sequence = (latest?.Sequence ?? 0) + 1;
            var opened = Message(verdict, IncidentMessageKind.Opened, 0, IncidentId(verdict, sequence), now, verdict.Since, verdict.Summary, verdict.FirstAction);
            return await ClaimAndSendAsync(sequence, opened, cancellationToken);
        }

        if (open.Messages.LastOrDefault(m => !open.Sent.ContainsKey(m.Name)) is { } unsent
            && now - unsent.At >= ClaimTimeout
            && await log.TryTakeOverAsync(open.Sequence, unsent, now, cancellationToken))
        {
            LogTakeOver(logger, unsent.IncidentId, unsent.Name, unsent.At);
            return await SendAsync(open.Sequence, unsent, cancellationToken);
        }

        if (!verdict.Firing)
        {
            var lasted = now - open.Opened.Since;
            var resolved = Message(verdict, IncidentMessageKind.Resolved, 0, open.Opened.IncidentId, now, open.Opened.Since, verdict.Summary,
                string.Create(CultureInfo.InvariantCulture, $"Nothing to do. The incident lasted {(int)lasted.TotalHours} h {lasted.Minutes} min."));
            return await ClaimAndSendAsync(open.Sequence, resolved, cancellationToken);
        }

        var due = (int)((now - open.Opened.At).Ticks / options.ReminderEvery.Ticks);
        var last = open.Messages.Where(m => m.Kind == IncidentMessageKind.Reminder).Select(m => m.Number).DefaultIfEmpty(0).Max();
        if (due <= last)
        {
            return null;
        }

        var reminder = Message(verdict, IncidentMessageKind.Reminder, due, open.Opened.IncidentId, now, open.Opened.Since, verdict.Summary, verdict.FirstAction);
        return await ClaimAndSendAsync(open.Sequence, reminder, cancellationToken);
    }

    private async Task<AlertMessage?> ClaimAndSendAsync(long sequence, IncidentMessage message, CancellationToken cancellationToken)
    {
        if (!await log.TryClaimAsync(sequence, message, cancellationToken))
        {
            // Another replica (or an earlier run) claimed this very message: it sends it, not us.
            return null;
        }

        return await SendAsync(sequence, message, cancellationToken);
    }

    private async Task<AlertMessage> SendAsync(long sequence, IncidentMessage message, CancellationToken cancellationToken)
    {
        var alert = new AlertMessage(
            message.Kind switch
            {
                IncidentMessageKind.Opened => AlertState.Firing,
                IncidentMessageKind.Reminder => AlertState.Reminder,
                _ => AlertState.Resolved,
            },
            message.Rule, message.Tenant, message.Environment, message.Target, message.Summary, message.Details, message.Since,
            message.FirstAction, message.IncidentId, message.At);
        var results = await dispatcher.SendAsync(alert, cancellationToken);
        if (results.Count > 0 && results.All(r => !r.Delivered))
        {
            LogNotDelivered(logger, message.IncidentId, message.Name);
        }

        await log.MarkSentAsync(
            sequence, message,
            new IncidentDelivery(time.GetUtcNow(), [.. results.Select(r => new CanaryDelivery(r.Notifier, r.Delivered, r.Attempts, r.Error))]),
            cancellationToken);
        return alert;
    }

    private static string IncidentId(RuleVerdict verdict, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{verdict.Target}.{verdict.Rule}.{sequence}");

    private static IncidentMessage Message(
        RuleVerdict verdict, IncidentMessageKind kind, int number, string incidentId, DateTimeOffset at, DateTimeOffset since, string summary, string firstAction) => new()
    {
        IncidentId = incidentId,
        Target = verdict.Target,
        Tenant = verdict.Tenant,
        Environment = verdict.Environment,
        Rule = verdict.Rule,
        Kind = kind,
        Number = number,
        At = at,
        Since = since,
        Summary = summary,
        Details = verdict.Details,
        FirstAction = firstAction,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Taking over message {Message} of incident {IncidentId}: claimed at {ClaimedAt} but never recorded as sent")]
    private static partial void LogTakeOver(ILogger logger, string incidentId, string message, DateTimeOffset claimedAt);

    [LoggerMessage(Level = LogLevel.Critical, Message = "No notifier delivered message {Message} of incident {IncidentId}: on-call has not been told; the next reminder tries again")]
    private static partial void LogNotDelivered(ILogger logger, string incidentId, string message);
}
