using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BackupDr.Reporting.Alerts;
using BackupDr.Repository.Alerts;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    private static async Task<int> AlertTestAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        var notifications = invocation.Options.Notifications;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var dispatcher = NotificationDispatcher.Create(notifications, http, invocation.Time, invocation.LoggerFactory.CreateLogger<NotificationDispatcher>());
        if (dispatcher.Notifiers.Count == 0)
        {
            throw new UsageException(
                "no notifier is configured: set Notifications:Email:Host, From and OnCall, or Notifications:Webhook:Url, then run 'backupdr alert test' again");
        }

        var now = invocation.Time.GetUtcNow();
        var message = new AlertMessage(
            AlertState.Test, AlertRule.Test, "", "", "",
            $"This is a test alert sent by 'backupdr alert test' from {Environment.MachineName}. If you read it, BackupDr can reach on-call.",
            "", now, "Nothing to do: reply to your team that the alert arrived.",
            $"test-{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}", now);
        var results = await dispatcher.SendAsync(message, cancellationToken);

        // The proof goes to the repository for the monthly report, whatever the outcome: a failed test is evidence too.
        var record = new CanaryRecord
        {
            At = now,
            Kind = CanaryKind.Manual,
            Host = Environment.MachineName,
            Deliveries = [.. results.Select(r => new CanaryDelivery(r.Notifier, r.Delivered, r.Attempts, r.Error))],
        };
        await record.WriteAsync(invocation.OpenStore(), cancellationToken);

        var document = new JsonObject
        {
            ["incidentId"] = message.IncidentId,
            ["recorded"] = CanaryRecord.KeyOf(now).Value,
            ["notifiers"] = new JsonArray(results.Select(r => (JsonNode)new JsonObject
            {
                ["notifier"] = r.Notifier,
                ["delivered"] = r.Delivered,
                ["attempts"] = r.Attempts,
                ["error"] = r.Error,
            }).ToArray()),
        };
        var text = new StringBuilder();
        foreach (var r in results)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{r.Notifier,-8} {(r.Delivered ? "delivered" : "FAILED"),-9} after {r.Attempts} attempt(s){(r.Error is null ? "" : ": " + r.Error)}");
        }

        if (record.Proven)
        {
            return invocation.Output.Success(document, text.Append(CultureInfo.InvariantCulture, $"test alert {message.IncidentId} sent; recorded in the repository as proof for the monthly report").ToString());
        }

        return invocation.Output.Fail(ExitCodes.Failed,
            text.Append("not every notifier delivered the test alert: fix the settings named above and run 'backupdr alert test' again").ToString(), document);
    }
}
