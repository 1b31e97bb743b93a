using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Hosting;
using BackupDr.BackupWorker.Scheduling;
using BackupDr.DrillRunner.Sandboxes;
using BackupDr.Reporting.Alerts;
using BackupDr.Repository.Alerts;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.Repository.Heartbeats;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Alerts;

/// <summary>
/// The worker's alerting: after every job, the job's own rule (backup failed) and the repository rules of its target;
/// on a schedule, the repository rules of every target (backup missing is a dead-man's switch: it fires from the
/// repository's state even when no job runs). Verdicts go through the <see cref="AlertEngine"/> (incidents, reminders,
/// resolution). Alerting never fails or delays a job: its own failures are logged as errors. Each scheduled round first
/// sweeps the sandboxes (the janitor's schedule); the sandboxes it finds that will not go away feed the sandbox cleanup
/// rule of their target (<see cref="StuckSandboxRule"/>) until a later complete sweep no longer finds them.
/// </summary>
internal sealed partial class WorkerAlerts(
    BackupDrOptions options, RepositoryAccess repository, TimeProvider time, ILoggerFactory loggers) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ILogger _logger = loggers.CreateLogger<WorkerAlerts>();

    /// <summary>The newest complete sweep; null until one completed in this process.</summary>
    private volatile SandboxSweepState? _sweep;

    public async Task AfterJobAsync(WorkerJobKind kind, TargetOptions target, Exception? failure, CancellationToken cancellationToken)
    {
        if (kind == WorkerJobKind.Prune)
        {
            return;
        }

        try
        {
            var verdicts = new List<RuleVerdict>();
            if (kind == WorkerJobKind.Backup)
            {
                var latest = await LatestBackup.FindAsync(repository.Store, target.Name, cancellationToken);
                verdicts.Add(AlertRules.BackupRun(target, failure?.Message, time.GetUtcNow(), latest?.BackupId));
            }

            verdicts.AddRange(await RepositoryVerdictsAsync([target], cancellationToken));
            await ApplyAsync(verdicts, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The alerting boundary: a job's result stands whatever happens here; the failure is logged loudly.
            LogFailed(_logger, target.Name, e.Message);
        }
    }

    /// <summary>The repository rules of every target, then the incident engine.</summary>
    public async Task EvaluateAllAsync(CancellationToken cancellationToken)
    {
        await SweepSandboxesAsync(cancellationToken);
        await ApplyAsync(await RepositoryVerdictsAsync(options.Targets, cancellationToken), cancellationToken);
    }

    /// <summary>Runs the janitor and keeps what it found stuck; an incomplete sweep keeps the previous knowledge.</summary>
    private async Task SweepSandboxesAsync(CancellationToken cancellationToken)
    {
        JanitorReport sweep;
        try
        {
            sweep = await DrillComposition.SweepSandboxesAsync(options, time, loggers, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The sweep's boundary: the alert rules must still be evaluated when the janitor fails (e.g. the cluster's
            // configuration cannot be read); what the last complete sweep found stays in force.
            LogSweepFailed(_logger, e.Message);
            return;
        }

        if (sweep.Incomplete)
        {
            return;
        }

        var known = options.Targets.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in sweep.Stuck.Where(s => !known.Contains(s.Target)))
        {
            // No configured target to alert for (renamed or removed): the janitor keeps reporting it, on-call reads the log.
            LogStuckWithoutTarget(_logger, orphan.SandboxId, orphan.Target, orphan.Problem);
        }

        _sweep = new SandboxSweepState(
            sweep.Stuck.GroupBy(s => s.Target, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(s => s.Problem)], StringComparer.Ordinal),
            sweep.Removed.Concat(sweep.InUse).Concat(sweep.Stuck.Select(s => s.SandboxId)).ToHashSet(StringComparer.Ordinal));
    }

    public NotificationDispatcher Dispatcher() =>
        NotificationDispatcher.Create(options.Notifications, _http, time, loggers.CreateLogger<NotificationDispatcher>());

    public void Dispose() => _http.Dispose();

    private async Task<IReadOnlyList<RuleVerdict>> RepositoryVerdictsAsync(IEnumerable<TargetOptions> targets, CancellationToken cancellationToken)
    {
        var store = repository.Store;
        var heartbeats = await HeartbeatStore.ReadAllAsync(store, cancellationToken);
        var states = new List<TargetState>();
        foreach (var target in targets)
        {
            var drills = await DrillRecords.ListAsync(store, target.Name, masterKey: null, cancellationToken);
            states.Add(new TargetState(target, await LatestBackup.FindAsync(store, target.Name, cancellationToken), drills.Count > 0 ? drills[0].Record : null));
        }

        var evaluated = AlertRules.Evaluate(
            options.Tiers, states, heartbeats.Select(h => (DateTimeOffset?)h.WrittenAt).Max(), options.Scheduler.HeartbeatInterval, time.GetUtcNow());
        var verdicts = StuckSandboxRule.Merge(evaluated, states, _sweep, time.GetUtcNow()).ToList();
        foreach (var target in targets.Where(t => t.Pitr.Enabled))
        {
            verdicts.Add(AlertRules.PitrArchive(target, await Repository.Wal.PitrStatus.ReadAsync(store, target.Name, cancellationToken), time.GetUtcNow()));
            var masterKey = (await repository.OpenAsync(cancellationToken)).MasterKey;
            verdicts.Add(AlertRules.PitrArchiveHole(target, await Repository.Wal.WalContinuity.CheckAsync(store, masterKey, target.Name, cancellationToken), time.GetUtcNow()));
        }

        return verdicts;
    }

    private async Task ApplyAsync(IReadOnlyList<RuleVerdict> verdicts, CancellationToken cancellationToken)
    {
        var engine = new AlertEngine(new IncidentLog(repository.Store), Dispatcher(), options.Notifications, time, loggers.CreateLogger<AlertEngine>());
        foreach (var message in await engine.ApplyAsync(verdicts, cancellationToken))
        {
            LogSent(_logger, message.State.ToString(), message.Rule.ToString(), message.Target, message.IncidentId);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert evaluation for {Target} failed: {Error}; on-call may not have been told")]
    private static partial void LogFailed(ILogger logger, string target, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sandbox sweep failed: {Error}; alerts use what the last complete sweep found")]
    private static partial void LogSweepFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sandbox {SandboxId} of target {Target}, which is not configured, will not go away: {Problem}; no alert can name its target")]
    private static partial void LogStuckWithoutTarget(ILogger logger, string sandboxId, string target, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {State} {Rule} for {Target} (incident {IncidentId})")]
    private static partial void LogSent(ILogger logger, string state, string rule, string target, string incidentId);
}
