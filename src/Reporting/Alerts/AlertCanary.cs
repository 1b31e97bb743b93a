using System.Globalization;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Storage;

namespace BackupDr.Reporting.Alerts;

/// <summary>
/// Proves that alerts reach on-call: sends an alert through every notifier and records, in the repository, which of
/// them delivered it (<see cref="CanaryRecord"/>), whatever the outcome, so the report can say "alerts proven to reach
/// on-call on 2026-11-03" from evidence, not belief. <c>backupdr alert test</c> sends a plain test message by hand; the
/// worker's monthly canary sends the alert the drill rule raised for a drill whose probe failed on purpose.
/// </summary>
internal static class AlertCanary
{
    private const string NothingToDo = "Nothing to do: reply to your team that the alert arrived.";

    /// <summary><c>backupdr alert test</c>: a test message through every notifier.</summary>
    public static Task<(AlertMessage Message, CanaryRecord Record)> RunAsync(
        NotificationDispatcher dispatcher, IObjectStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var message = new AlertMessage(
            AlertState.Test, AlertRule.Test, "", "", "",
            $"This is a test alert sent by 'backupdr alert test' from {Environment.MachineName}. If you read it, BackupDr can reach on-call.",
            "", now, NothingToDo, $"test-{Stamp(now)}", now);
        return SendAsync(dispatcher, store, message, CanaryKind.Manual, evidence: null, cancellationToken);
    }

    /// <summary>
    /// The scheduled canary: <paramref name="verdict"/> is what a rule decided about a drill that failed on purpose; it
    /// goes out as that rule's alert, marked as the canary (outside the incident log: there is no incident to open).
    /// </summary>
    /// <param name="evidence">What produced the verdict (the drill's probe and outcome), kept in the record.</param>
    public static Task<(AlertMessage Message, CanaryRecord Record)> RunAsync(
        NotificationDispatcher dispatcher, IObjectStore store, TimeProvider time, RuleVerdict verdict, string evidence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        var now = time.GetUtcNow();
        var message = new AlertMessage(
            AlertState.Canary, verdict.Rule, verdict.Tenant, verdict.Environment, verdict.Target,
            $"Monthly alert canary from {Environment.MachineName}: {verdict.Summary}",
            verdict.Details, verdict.Since, NothingToDo, $"canary-{Stamp(now)}", now);
        return SendAsync(dispatcher, store, message, CanaryKind.Scheduled, evidence, cancellationToken);
    }

    private static async Task<(AlertMessage Message, CanaryRecord Record)> SendAsync(
        NotificationDispatcher dispatcher, IObjectStore store, AlertMessage message, CanaryKind kind, string? evidence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(store);
        var results = await dispatcher.SendAsync(message, cancellationToken);
        var record = new CanaryRecord
        {
            At = message.At,
            Kind = kind,
            Host = Environment.MachineName,
            Rule = message.Rule,
            Evidence = evidence,
            Deliveries = [.. results.Select(r => new CanaryDelivery(r.Notifier, r.Delivered, r.Attempts, r.Error))],
        };
        await record.WriteAsync(store, cancellationToken);
        return (message, record);
    }

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
}
