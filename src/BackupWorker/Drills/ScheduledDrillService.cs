using BackupDr.BackupWorker.Hosting;
using BackupDr.DrillRunner.Drills;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Drills;

/// <summary>The worker's drills: the same <see cref="DrillService"/> as <c>backupdr drill</c>, after a sandbox sweep.</summary>
internal sealed class ScheduledDrillService(
    BackupDrOptions options, RepositoryAccess repository, DrillProtections protections, TimeProvider time, ILoggerFactory loggers)
    : IScheduledDrillService, IDisposable
{
    private readonly HttpClient _http = new();

    public async Task<ScheduledDrillResult> RunAsync(TargetOptions target, DrillBackupChoice backup, CancellationToken cancellationToken)
    {
        await DrillComposition.SweepSandboxesAsync(options, time, loggers, cancellationToken);
        var open = await repository.OpenAsync(cancellationToken);
        var request = new DrillRequest(target, target.Tier, options.Tiers[target.Tier], backup == DrillBackupChoice.Sample ? "sample" : "latest");
        var observer = new OpenDrillObserver(protections);
        DrillRecord record;
        try
        {
            record = await DrillComposition.Create(options, _http, time, loggers).RunAsync(open, request, observer, cancellationToken);
        }
        finally
        {
            observer.Dispose();
        }

        return new ScheduledDrillResult(
            record.DrillId,
            record.BackupId,
            record.Outcome switch
            {
                DrillOutcome.Passed => ScheduledDrillOutcome.Passed,
                DrillOutcome.PartiallyFailed => ScheduledDrillOutcome.PartiallyFailed,
                _ => ScheduledDrillOutcome.Failed,
            },
            record.StartedAt,
            record.CompletedAt,
            record.Rto.AchievedSeconds is { } rto ? TimeSpan.FromSeconds(rto) : null,
            record.Rpo.AchievedSeconds is { } rpo ? TimeSpan.FromSeconds(rpo) : null);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Holds the drilled backup in <see cref="DrillProtections"/> from its choice until the drill ends.</summary>
    private sealed class OpenDrillObserver(DrillProtections protections) : IDrillObserver, IDisposable
    {
        private IDisposable? _held;

        public void BackupChosen(string target, string backupId) => _held = protections.Open(target, backupId);

        public void PhaseStarted(DrillPhase phase)
        {
        }

        public void PhaseEnded(DrillPhaseRecord phase)
        {
        }

        public void ProbeEnded(ProbeRecord probe)
        {
        }

        public Task SandboxReadyAsync(DrillRunner.Sandboxes.ISandbox sandbox, string database, CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() => _held?.Dispose();
    }
}
