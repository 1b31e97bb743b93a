using BackupDr.BackupWorker.Hosting;
using BackupDr.DrillRunner.Drills;
using BackupDr.DrillRunner.Restore;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Drills;

/// <summary>
/// The worker's drills: the same <see cref="DrillService"/> as <c>backupdr drill</c>, after a sandbox sweep. Targets with
/// point-in-time recovery take turns: after a dump drill (or none) comes the PITR drill of <c>backupdr drill --pitr</c>
/// (<see cref="PitrDrillService"/>), after a PITR drill a dump drill, because a PITR target has both kinds of backup and
/// only the dump drill proves its dumps and its filestore. The scheduled PITR drill
/// (<see cref="DrillBackupChoice.Latest"/>) restores to now minus the flush interval, what an incident would ask for, so
/// it proves the whole promise (archive lag, the longest replay from the base backup, the RPO);
/// <see cref="DrillBackupChoice.Sample"/> restores to a random moment of the restorable range.
/// </summary>
internal sealed class ScheduledDrillService(
    BackupDrOptions options, RepositoryAccess repository, WorkerIdentity identity, WalFetchCommand walFetch, TimeProvider time, ILoggerFactory loggers)
    : IScheduledDrillService, IDisposable
{
    private readonly HttpClient _http = new();

    public async Task<ScheduledDrillResult> RunAsync(TargetOptions target, DrillBackupChoice backup, CancellationToken cancellationToken)
    {
        await DrillComposition.SweepSandboxesAsync(options, time, loggers, cancellationToken);
        var open = await repository.OpenAsync(cancellationToken);

        // The drill's lease keeps its backup (for PITR: its base backup, so its WAL) from retention on every replica
        // until the record is written.
        DrillRecord record;
        if (target.Pitr.Enabled && (await DrillRecords.LatestAsync(open.Store, target.Name, masterKey: null, cancellationToken))?.Pitr is null)
        {
            var pitr = new PitrDrillService(new PitrRestorer(time, loggers.CreateLogger<PitrRestorer>()), time, loggers.CreateLogger<PitrDrillService>());
            record = await pitr.RunAsync(open, new PitrDrillRequest(target, target.Tier, options.Tiers[target.Tier], backup == DrillBackupChoice.Sample,
                walFetch, options.Sandbox.WorkPath, Owner: identity.InstanceId), observer: null, cancellationToken);
        }
        else
        {
            var request = new DrillRequest(target, target.Tier, options.Tiers[target.Tier], backup == DrillBackupChoice.Sample ? "sample" : "latest",
                Owner: identity.InstanceId);
            record = await DrillComposition.Create(options, _http, time, loggers).RunAsync(open, request, observer: null, cancellationToken);
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
}
