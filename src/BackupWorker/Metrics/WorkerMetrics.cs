using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Scheduling;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Configuration;

namespace BackupDr.BackupWorker.Metrics;

/// <summary>
/// What <c>/metrics</c> reports, in the Prometheus text format (version 0.0.4). Per target: the last committed backup
/// (time, duration, size, recovery point and so backup age), the last drill (outcome, achieved RTO and RPO), failure
/// counts; per job kind: jobs running and triggers overdue (the queue). Seeded at start-up from the repository's
/// newest manifests, so a restart does not report "never backed up". Thread-safe.
/// </summary>
internal sealed class WorkerMetrics(BackupDrOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, TargetState> _targets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<WorkerJobKind, int> _running = new();
    private readonly ConcurrentDictionary<WorkerJobKind, int> _overdue = new();
    private long _heartbeatAtUnix;
    private int _schedulerStarted;

    public int JobsRunning => _running.Values.Sum();

    public void BackupCommitted(BackupManifest manifest)
    {
        var state = State(manifest.Target);
        lock (state)
        {
            state.LastBackup = manifest;
        }
    }

    public void BackupFailed(string target) => Interlocked.Increment(ref State(target).BackupFailures);

    public void DrillCompleted(string target, ScheduledDrillResult result)
    {
        var state = State(target);
        lock (state)
        {
            state.LastDrill = result;
        }

        if (result.Outcome != ScheduledDrillOutcome.Passed)
        {
            Interlocked.Increment(ref state.DrillFailures);
        }
    }

    public void DrillFailed(string target) => Interlocked.Increment(ref State(target).DrillFailures);

    public void PruneFailed(string target) => Interlocked.Increment(ref State(target).PruneFailures);

    public void JobStarted(WorkerJobKind kind) => _running.AddOrUpdate(kind, 1, (_, n) => n + 1);

    public void JobEnded(WorkerJobKind kind) => _running.AddOrUpdate(kind, 0, (_, n) => n - 1);

    public void Overdue(IReadOnlyDictionary<WorkerJobKind, int> overdue)
    {
        foreach (var kind in Enum.GetValues<WorkerJobKind>())
        {
            _overdue[kind] = overdue.GetValueOrDefault(kind);
        }
    }

    public void HeartbeatWritten(DateTimeOffset at) => Interlocked.Exchange(ref _heartbeatAtUnix, at.ToUnixTimeSeconds());

    public void SchedulerStarted(bool started) => Interlocked.Exchange(ref _schedulerStarted, started ? 1 : 0);

    public string Render()
    {
        var now = time.GetUtcNow();
        var text = new Exposition();
        var targets = options.Targets.Select(t => (Target: t, State: State(t.Name))).ToList();

        text.Family("backupdr_backup_last_success_timestamp_seconds", "gauge", "Completion time of the newest committed backup (Unix seconds).");
        foreach (var (target, state) in targets)
        {
            text.Sample(target, state.Read(s => s.LastBackup?.CompletedAt.ToUnixTimeSeconds()));
        }

        text.Family("backupdr_backup_last_duration_seconds", "gauge", "Wall time of the newest committed backup.");
        foreach (var (target, state) in targets)
        {
            text.Sample(target, state.Read(s => s.LastBackup is { } m ? (m.CompletedAt - m.StartedAt).TotalSeconds : (double?)null));
        }

        text.Family("backupdr_backup_last_size_bytes", "gauge", "Stored bytes of the newest committed backup.");
        foreach (var (target, state) in targets)
        {
            text.Sample(target, state.Read(s => s.LastBackup?.Objects.Sum(o => o.SizeBytes)));
        }

        text.Family("backupdr_backup_age_seconds", "gauge", "Now minus the recovery point of the newest committed backup: the data at risk right now.");
        foreach (var (target, state) in targets)
        {
            text.Sample(target, state.Read(s => s.LastBackup is { } m ? (now - m.RecoveryPoint).TotalSeconds : (double?)null));
        }

        text.Family("backupdr_drill_last_outcome", "gauge", "1 for the outcome of the newest drill, 0 for the others.");
        foreach (var (target, state) in targets)
        {
            var last = state.Read(s => s.LastDrill);
            foreach (var outcome in Enum.GetValues<ScheduledDrillOutcome>())
            {
                text.Sample(target, last is null ? null : last.Outcome == outcome ? 1 : 0, ("outcome", outcome.ToString()));
            }
        }

        text.Family("backupdr_drill_last_timestamp_seconds", "gauge", "Completion time of the newest drill (Unix seconds).");
        foreach (var (target, state) in targets)
        {
            text.Sample(target, state.Read(s => s.LastDrill?.CompletedAt.ToUnixTimeSeconds()));
        }

        text.Family("backupdr_achieved_rto_seconds", "gauge", "Achieved RTO of the newest drill: start until every critical probe passed.");
        foreach (var (target, state) in targets)
        {
            text.Sample(target, state.Read(s => s.LastDrill?.AchievedRto?.TotalSeconds));
        }

        text.Family("backupdr_achieved_rpo_seconds", "gauge", "Achieved RPO of the newest drill: its start minus the restored recovery point.");
        foreach (var (target, state) in targets)
        {
            text.Sample(target, state.Read(s => s.LastDrill?.AchievedRpo?.TotalSeconds));
        }

        text.Family("backupdr_rto_objective_seconds", "gauge", "The tier's RTO objective.");
        text.Family("backupdr_rpo_objective_seconds", "gauge", "The tier's RPO objective.");
        foreach (var (target, _) in targets)
        {
            var tier = options.Tiers.GetValueOrDefault(target.Tier);
            text.Sample("backupdr_rto_objective_seconds", target, tier?.Rto.TotalSeconds);
            text.Sample("backupdr_rpo_objective_seconds", target, tier?.Rpo.TotalSeconds);
        }

        text.Family("backupdr_job_failures_total", "counter", "Jobs that failed since the process started, by kind.");
        foreach (var (target, state) in targets)
        {
            text.Sample(target, Volatile.Read(ref state.BackupFailures), ("kind", "backup"));
            text.Sample(target, Volatile.Read(ref state.DrillFailures), ("kind", "drill"));
            text.Sample(target, Volatile.Read(ref state.PruneFailures), ("kind", "prune"));
        }

        text.Family("backupdr_jobs_running", "gauge", "Jobs running on this replica, by kind.");
        text.Family("backupdr_jobs_overdue", "gauge", "Triggers whose fire time has passed without firing (held back by a limit, a busy target or a misfire), by kind.");
        foreach (var kind in Enum.GetValues<WorkerJobKind>())
        {
            text.Global("backupdr_jobs_running", _running.GetValueOrDefault(kind), ("kind", WorkerJobs.Name(kind)));
            text.Global("backupdr_jobs_overdue", _overdue.GetValueOrDefault(kind), ("kind", WorkerJobs.Name(kind)));
        }

        text.Family("backupdr_heartbeat_last_success_timestamp_seconds", "gauge", "When this replica last wrote its heartbeat to the repository.");
        var heartbeat = Interlocked.Read(ref _heartbeatAtUnix);
        text.Global("backupdr_heartbeat_last_success_timestamp_seconds", heartbeat == 0 ? null : heartbeat);
        text.Family("backupdr_scheduler_started", "gauge", "1 while the scheduler runs jobs on this replica.");
        text.Global("backupdr_scheduler_started", Volatile.Read(ref _schedulerStarted));
        return text.ToString();
    }

    private TargetState State(string target) => _targets.GetOrAdd(target, _ => new TargetState());

    private sealed class TargetState
    {
        public long BackupFailures;
        public long DrillFailures;
        public long PruneFailures;

        public BackupManifest? LastBackup { get; set; }

        public ScheduledDrillResult? LastDrill { get; set; }

        public T Read<T>(Func<TargetState, T> read)
        {
            lock (this)
            {
                return read(this);
            }
        }
    }

    /// <summary>The text format: HELP and TYPE once per family, then its samples; label values escaped.</summary>
    private sealed class Exposition
    {
        private readonly Dictionary<string, StringBuilder> _families = new(StringComparer.Ordinal);
        private readonly List<string> _order = [];
        private string _current = "";

        public void Family(string name, string type, string help)
        {
            _current = name;
            _order.Add(name);
            _families[name] = new StringBuilder().Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
        }

        public void Sample(TargetOptions target, double? value, params (string Name, string Value)[] extra) => Sample(_current, target, value, extra);

        public void Sample(string family, TargetOptions target, double? value, params (string Name, string Value)[] extra) =>
            Write(family, value, [("target", target.Name), ("tenant", target.Tenant), ("environment", target.Environment), ("tier", target.Tier), .. extra]);

        public void Global(string family, double? value, params (string Name, string Value)[] labels) => Write(family, value, labels);

        public override string ToString() => string.Concat(_order.Select(n => _families[n].ToString()));

        /// <summary>An unknown value (never backed up, never drilled) is left out rather than reported as 0.</summary>
        private void Write(string family, double? value, (string Name, string Value)[] labels)
        {
            if (value is null)
            {
                return;
            }

            var line = _families[family].Append(family);
            if (labels.Length > 0)
            {
                line.Append('{').AppendJoin(',', labels.Select(l => $"{l.Name}=\"{Escape(l.Value)}\"")).Append('}');
            }

            line.Append(' ').Append(value.Value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }

        private static string Escape(string value) =>
            value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }
}
