using System.Globalization;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Storage;

namespace BackupDr.Reporting.Alerts;

/// <summary>
/// Proves that alerts reach on-call: sends an alert through every notifier and records, in the repository, which of
/// them delivered it (<see cref="CanaryRecord"/>), whatever the outcome. <c>backupdr alert test</c> runs it by hand;
/// the worker runs it monthly as a deliberately failing probe, so the report can say "alerts proven to reach on-call on
/// 2026-11-03" from evidence, not belief.
/// </summary>
internal static class AlertCanary
{
    public static async Task<(AlertMessage Message, CanaryRecord Record)> RunAsync(
        NotificationDispatcher dispatcher, IObjectStore store, TimeProvider time, CanaryKind kind, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(store);
        var now = time.GetUtcNow();
        var host = Environment.MachineName;
        var summary = kind == CanaryKind.Manual
            ? $"This is a test alert sent by 'backupdr alert test' from {host}. If you read it, BackupDr can reach on-call."
            : $"Monthly alert canary from {host}: the probe 'alert-canary' failed on purpose, to prove that a failing drill reaches on-call.";
        var message = new AlertMessage(
            AlertState.Test, AlertRule.Test, "", "", "", summary, "", now, "Nothing to do: reply to your team that the alert arrived.",
            $"{(kind == CanaryKind.Manual ? "test" : "canary")}-{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}", now);
        var results = await dispatcher.SendAsync(message, cancellationToken);
        var record = new CanaryRecord
        {
            At = now,
            Kind = kind,
            Host = host,
            Deliveries = [.. results.Select(r => new CanaryDelivery(r.Notifier, r.Delivered, r.Attempts, r.Error))],
        };
        await record.WriteAsync(store, cancellationToken);
        return (message, record);
    }
}
