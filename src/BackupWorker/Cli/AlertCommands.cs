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

        var (message, record) = await AlertCanary.RunAsync(dispatcher, invocation.OpenStore(), invocation.Time, cancellationToken);
        var results = record.Deliveries;

        var document = new JsonObject
        {
            ["incidentId"] = message.IncidentId,
            ["recorded"] = CanaryRecord.KeyOf(record.At).Value,
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
