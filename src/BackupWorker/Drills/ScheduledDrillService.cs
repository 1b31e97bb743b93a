using BackupDr.BackupWorker.Hosting;
using BackupDr.DrillRunner.Drills;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Drills;

/// <summary>The worker's drills: the same <see cref="DrillService"/> as <c>backupdr drill</c>, after a sandbox sweep.</summary>
internal sealed class ScheduledDrillService(
    BackupDrOptions options, RepositoryAccess repository, WorkerIdentity identity, TimeProvider time, ILoggerFactory loggers)
    : IScheduledDrillService, IDisposable
{
    private readonly HttpClient _http = new();

    public async Task<ScheduledDrillResult> RunAsync(TargetOptions target, DrillBackupChoice backup, CancellationToken cancellationToken)
    {
        await DrillComposition.SweepSandboxesAsync(options, time, loggers, cancellationToken);
        var open = await repository.OpenAsync(cancellationToken);
        var request = new DrillRequest(target, target.Tier, options.Tiers[target.Tier], backup == DrillBackupChoice.Sample ? "sample" : "latest",
            Owner: identity.InstanceId);

        // The drill's lease (DrillService) keeps its backup from retention on every replica until the record is written.
        var record = await DrillComposition.Create(options, _http, time, loggers).RunAsync(open, request, observer: null, cancellationToken);

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
