using BackupDr.Repository.Backups;
using BackupDr.Repository.Progress;

namespace BackupDr.DrillRunner.Restore;

/// <summary>The restore pipeline's filestore step: <see cref="FilestoreRestorer"/> with the options of this run.</summary>
internal sealed class FilestoreRestoreStep(FilestoreRestorer restorer, FilestoreRestoreOptions options) : IFilestoreRestore
{
    public Task<FilestoreRestoreResult> RestoreAsync(
        BackupRepository repository, BackupManifest manifest, string intoDirectory, IProgress<RestoreProgress>? progress, CancellationToken cancellationToken) =>
        restorer.RestoreAsync(
            repository, manifest, intoDirectory, options,
            progress is null ? null : new SynchronousProgress<FilestoreRestoreProgress>(p => progress.Report(new RestoreProgress(RestorePhase.Filestore, p.PackBytes, 0))),
            cancellationToken);
}
