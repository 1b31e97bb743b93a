using BackupDr.Repository.Alerts;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging;

namespace BackupDr.Reporting.Alerts;

/// <summary>
/// Sends a message through every configured notifier at once, each with its own retries (Notifications:Attempts,
/// RetryDelay doubling). A failing notifier is logged and reported in the results; it never throws to the caller,
/// so an unreachable mail relay cannot fail or hold up a backup. Only the caller's cancellation escapes.
/// </summary>
internal sealed partial class NotificationDispatcher(IReadOnlyList<INotifier> notifiers, NotificationsOptions options, TimeProvider time, ILogger logger)
{
    public IReadOnlyList<INotifier> Notifiers { get; } = notifiers;

    /// <summary>The notifiers the configuration enables: email when Host and OnCall are set, webhook when Url is.</summary>
    public static NotificationDispatcher Create(NotificationsOptions options, HttpClient http, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var notifiers = new List<INotifier>();
        if (options.Email.IsEnabled && options.Email.OnCall.Count > 0)
        {
            notifiers.Add(new EmailNotifier(options.Email));
        }

        if (options.Webhook.IsEnabled)
        {
            notifiers.Add(new WebhookNotifier(options.Webhook, http, time));
        }

        return new NotificationDispatcher(notifiers, options, time, logger);
    }

    public async Task<IReadOnlyList<NotificationResult>> SendAsync(AlertMessage message, CancellationToken cancellationToken) =>
        await Task.WhenAll(Notifiers.Select(n => SendWithRetriesAsync(n, message, cancellationToken)));

    private async Task<NotificationResult> SendWithRetriesAsync(INotifier notifier, AlertMessage message, CancellationToken cancellationToken)
    {
        var delay = options.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await notifier.SendAsync(message, cancellationToken);
                LogDelivered(logger, notifier.Name, message.State, message.Rule, message.Target, message.IncidentId, attempt);
                return new NotificationResult(notifier.Name, Delivered: true, attempt, Error: null);
            }
            catch (NotificationException e)
            {
                var last = attempt >= options.Attempts || !e.IsTransient;
                LogFailed(logger, notifier.Name, message.IncidentId, attempt, options.Attempts, e.Message, last ? "gave up" : $"retrying in {delay}");
                if (last)
                {
                    return new NotificationResult(notifier.Name, Delivered: false, attempt, e.Message);
                }
            }

            await Task.Delay(delay, time, cancellationToken);
            delay *= 2;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {State} {Rule} for {Target} delivered by {Notifier} (incident {IncidentId}, attempt {Attempt})")]
    private static partial void LogDelivered(ILogger logger, string notifier, AlertState state, AlertRule rule, string target, string incidentId, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert for incident {IncidentId} not delivered by {Notifier} (attempt {Attempt} of {Attempts}): {Error}; {Next}")]
    private static partial void LogFailed(ILogger logger, string notifier, string incidentId, int attempt, int attempts, string error, string next);
}
