using BackupDr.Repository.Drills;

namespace BackupDr.DrillRunner.Drills;

/// <summary>
/// Times the drill's phases with the <see cref="TimeProvider"/> and tells the observer as they start and end. Phases
/// may overlap (the sandbox's server starts during the download; the filestore restores and the probes of table data
/// run beside pg_restore's index builds): each is opened with <see cref="Begin"/> and closed with <see cref="End"/>, or
/// recorded whole with <see cref="Completed"/>. Safe to call from several threads.
/// </summary>
/// <param name="origin">The drill's start (a <see cref="TimeProvider"/> timestamp): phases record their start from it.</param>
internal sealed class PhaseClock(TimeProvider time, IDrillObserver? observer, long origin)
{
    private readonly List<DrillPhaseRecord> _records = [];
    private readonly Dictionary<DrillPhase, long> _open = [];

    /// <summary>The phases so far, in the drill's phase order.</summary>
    public IReadOnlyList<DrillPhaseRecord> Records
    {
        get
        {
            lock (_records)
            {
                return _records.OrderBy(r => r.Phase).ToList();
            }
        }
    }

    public bool IsOpen(DrillPhase phase)
    {
        lock (_records)
        {
            return _open.ContainsKey(phase);
        }
    }

    public void Begin(DrillPhase phase)
    {
        lock (_records)
        {
            _open[phase] = time.GetTimestamp();
        }

        observer?.PhaseStarted(phase);
    }

    /// <summary>Closes an open phase as completed (nothing when it is not open).</summary>
    /// <param name="seconds">The phase's own measure when the work timed it more closely than its start and this call (e.g. pg_restore inside the restore).</param>
    public void End(DrillPhase phase, string? detail, double? seconds = null)
    {
        long started;
        lock (_records)
        {
            if (!_open.Remove(phase, out started))
            {
                return;
            }
        }

        Add(new DrillPhaseRecord(phase, PhaseStatus.Completed, seconds ?? Elapsed(started), detail, Offset(started)));
    }

    /// <summary>
    /// Closes the open phases: <paramref name="culprit"/> as failed with <paramref name="error"/> and the others as
    /// stopped by it; without a culprit, every open phase as failed.
    /// </summary>
    public void Fail(string error, DrillPhase? culprit = null)
    {
        List<KeyValuePair<DrillPhase, long>> open;
        lock (_records)
        {
            open = [.. _open];
            _open.Clear();
        }

        var blamed = culprit;
        foreach (var (phase, started) in open.OrderBy(p => p.Key))
        {
            Add(blamed is null || phase == blamed
                ? new DrillPhaseRecord(phase, PhaseStatus.Failed, Elapsed(started), error, Offset(started))
                : new DrillPhaseRecord(phase, PhaseStatus.Stopped, Elapsed(started), $"stopped: the {blamed} phase failed", Offset(started)));
        }
    }

    public void Skipped(DrillPhase phase, string reason) => Add(new DrillPhaseRecord(phase, PhaseStatus.Skipped, 0, reason));

    /// <summary>Records a phase that ran in the background from <paramref name="startedAt"/> (a <see cref="TimeProvider"/> timestamp) until now.</summary>
    public void Completed(DrillPhase phase, long startedAt, string detail) =>
        Add(new DrillPhaseRecord(phase, PhaseStatus.Completed, Elapsed(startedAt), detail, Offset(startedAt)));

    /// <summary>Records a background phase as failed, unless it already has a record, and fails the open phases.</summary>
    public void Failed(DrillPhase phase, string error)
    {
        lock (_records)
        {
            if (_records.Any(r => r.Phase == phase))
            {
                return;
            }
        }

        Add(new DrillPhaseRecord(phase, PhaseStatus.Failed, 0, error));
        Fail(error, phase);
    }

    private double Elapsed(long started) => Math.Round(time.GetElapsedTime(started).TotalSeconds, 3);

    private double Offset(long started) => Math.Round(time.GetElapsedTime(origin, started).TotalSeconds, 3);

    private void Add(DrillPhaseRecord record)
    {
        lock (_records)
        {
            _records.Add(record);
            observer?.PhaseEnded(record);
        }
    }
}
