using BackupDr.Repository.Drills;

namespace BackupDr.DrillRunner.Drills;

/// <summary>Times the drill's phases with the <see cref="TimeProvider"/> and tells the observer as they start and end.</summary>
internal sealed class PhaseClock(TimeProvider time, IDrillObserver? observer)
{
    private readonly List<DrillPhaseRecord> _records = [];
    private long _started;

    /// <summary>The phase running now, or null between phases.</summary>
    public DrillPhase? Current { get; private set; }

    /// <summary>The phases so far, in execution order.</summary>
    public IReadOnlyList<DrillPhaseRecord> Records => _records.OrderBy(r => r.Phase).ToList();

    public void Begin(DrillPhase phase)
    {
        Current = phase;
        _started = time.GetTimestamp();
        observer?.PhaseStarted(phase);
    }

    public void End(string? detail) => Close(PhaseStatus.Completed, detail);

    /// <summary>Marks the running phase failed (nothing when no phase runs).</summary>
    public void Fail(string error) => Close(PhaseStatus.Failed, error);

    public void Skipped(DrillPhase phase, string reason) => Add(new DrillPhaseRecord(phase, PhaseStatus.Skipped, 0, $"skipped: {reason}"));

    private void Close(PhaseStatus status, string? detail)
    {
        if (Current is not { } phase)
        {
            return;
        }

        Current = null;
        Add(new DrillPhaseRecord(phase, status, Math.Round(time.GetElapsedTime(_started).TotalSeconds, 3), detail));
    }

    private void Add(DrillPhaseRecord record)
    {
        _records.Add(record);
        observer?.PhaseEnded(record);
    }
}
