using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Hosting;
using BackupDr.BackupWorker.Pitr;
using BackupDr.BackupWorker.Retention;
using Quartz;

namespace BackupDr.BackupWorker.Scheduling;

// Jobs are thin: they turn the firing into a typed call of one service method with the token. One job per target and
// kind, so [DisallowConcurrentExecution] (honoured across a cluster) means never two backups, drills or prunes of
// the same target at once; the execution groups cap them across targets.

[DisallowConcurrentExecution]
internal sealed class BackupJob(JobRunner runner, ScheduledBackupService backups) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default) =>
        await runner.RunAsync(context, WorkerJobKind.Backup, backups.RunAsync, cancellationToken);
}

[DisallowConcurrentExecution]
internal sealed class DrillJob(JobRunner runner, ScheduledDrillRunner drills) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default) =>
        await runner.RunAsync(context, WorkerJobKind.Drill, (target, _, token) => drills.RunAsync(target, token), cancellationToken);
}

[DisallowConcurrentExecution]
internal sealed class PruneJob(JobRunner runner, PruneService prune, RepositoryAccess repository, TimeProvider time) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default) =>
        await runner.RunAsync(context, WorkerJobKind.Prune, async (target, _, token) =>
        {
            using var audit = await repository.OpenAuditTrailAsync(time, token);
            await prune.ApplyAsync(await repository.OpenAsync(token), target, audit, token);
        }, cancellationToken);
}

[DisallowConcurrentExecution]
internal sealed class BaseBackupJob(JobRunner runner, BaseBackupService service, RepositoryAccess repository) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default) =>
        await runner.RunAsync(context, WorkerJobKind.BaseBackup,
            async (target, _, token) => await service.BackupAsync(await repository.OpenAsync(token), target, token), cancellationToken);
}
