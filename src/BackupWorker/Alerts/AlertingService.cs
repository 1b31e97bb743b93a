using System.Globalization;
using BackupDr.BackupWorker.Hosting;
using BackupDr.DrillRunner.Drills;
using BackupDr.Reporting.Alerts;
using BackupDr.Reporting.Reports;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Alerts;

/// <summary>
/// The worker's standing duties, every Scheduler:HeartbeatInterval: evaluate the alert rules of every target; once a
/// month, the alert canary (the alert of a drill whose probe failed on purpose, sent to on-call, recorded as proof); on the first day of a
/// month (or the next two), the recoverability report of the month before, mailed to Notifications:Email:Reports. A duty is claimed in
/// the repository create-only first (<c>service/duties/&lt;duty&gt;-&lt;yyyy-MM&gt;.json</c>), so one replica does it once.
/// </summary>
internal sealed partial class AlertingService(
    BackupDrOptions options, RepositoryAccess repository, WorkerAlerts alerts, TimeProvider time, ILogger<AlertingService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // First wait: start-up catch-up backups run before the first verdict on their targets.
            await Task.Delay(options.Scheduler.HeartbeatInterval, time, stoppingToken);
            try
            {
                await alerts.EvaluateAllAsync(stoppingToken);
                await MonthlyAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The loop boundary: one failed round is logged and the next one tries again.
                LogFailed(logger, e.Message);
            }
        }
    }

    private async Task MonthlyAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var month = now.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        if (options.Notifications.Email.IsEnabled || options.Notifications.Webhook.IsEnabled)
        {
            if (await ClaimAsync("alert-canary", month, cancellationToken))
            {
                var record = await RunCanaryAsync(cancellationToken);
                LogCanary(logger, month, record.Proven);
            }
        }

        // The report of a month is built in the first three days of the next (a worker down on the 1st catches up).
        var previous = new DateOnly(now.Year, now.Month, 1).AddMonths(-1);
        if (now.Day <= 3 && options.Targets.Count > 0 && await ClaimAsync("monthly-report", previous.ToString("yyyy-MM", CultureInfo.InvariantCulture), cancellationToken))
        {
            var send = options.Notifications.Email.IsEnabled && options.Notifications.Email.Reports.Count > 0;
            var published = await ReportPublisher.PublishAsync(await repository.OpenAsync(cancellationToken), options, previous, time, outDirectory: null, send, cancellationToken);
            LogReport(logger, published.Report.Month, published.Folder, published.Report.Summary.Headline, send);
        }
    }

    /// <summary>
    /// The monthly canary: a drill whose critical probe fails on purpose (<see cref="CanaryDrill"/>: the drills' probe
    /// runner and verdict), judged by the drill alert rule that judges every real drill, and that rule's alert sent
    /// through every notifier; the canary record says which of them accepted it.
    /// </summary>
    internal async Task<CanaryRecord> RunCanaryAsync(CancellationToken cancellationToken)
    {
        var drill = await CanaryDrill.RunAsync(time, cancellationToken);
        var target = new TargetOptions { Name = CanaryDrill.Target, Tenant = CanaryDrill.Tenant, Environment = CanaryDrill.Environment };
        var verdict = AlertRules.Drill(target, drill).SingleOrDefault(v => v.Rule == AlertRule.DrillFailed && v.Firing)
            ?? throw new InvalidOperationException(
                $"the drill rule did not fire for the canary drill ({drill.Outcome}): a failed drill would not alert on-call; this is a bug to report");
        var probe = drill.Probes.Single();
        var evidence = $"drill {drill.DrillId}: probe {probe.Name} (critical) {probe.Status}: {probe.Details}; outcome {drill.Outcome}";
        var (_, record) = await AlertCanary.RunAsync(alerts.Dispatcher(), repository.Store, time, verdict, evidence, cancellationToken);
        return record;
    }

    private async Task<bool> ClaimAsync(string duty, string month, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(
            $$"""{ "duty": "{{duty}}", "month": "{{month}}", "claimedBy": "{{Environment.MachineName}}", "at": "{{time.GetUtcNow():O}}" }"""));
        try
        {
            await repository.Store.PutAsync(ObjectKey.Parse($"service/duties/{duty}-{month}.json"), body, PutOptions.CreateOnly, cancellationToken);
            return true;
        }
        catch (ObjectAlreadyExistsException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Alerting round failed: {Error}; the next round tries again")]
    private static partial void LogFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Monthly alert canary of {Month} sent; every notifier delivered: {Proven}")]
    private static partial void LogCanary(ILogger logger, string month, bool proven);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recoverability report {Month} published in {Folder} (mailed: {Sent}): {Headline}")]
    private static partial void LogReport(ILogger logger, string month, string folder, string headline, bool sent);
}
