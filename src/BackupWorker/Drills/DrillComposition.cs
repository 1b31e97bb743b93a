using BackupDr.DrillRunner.Drills;
using BackupDr.DrillRunner.Restore;
using BackupDr.DrillRunner.Sandboxes;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Drills;

/// <summary>
/// Builds the one drill pipeline (local sandbox, restore with the filestore step, probes) for <c>backupdr drill</c> and
/// the worker alike, and sweeps sandboxes a crashed process left behind.
/// </summary>
internal static class DrillComposition
{
    public static DrillService Create(BackupDrOptions options, HttpClient http, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Sandbox.Kind != SandboxKind.Local)
        {
            throw new InvalidOperationException($"Sandbox:Kind {options.Sandbox.Kind}: only Local sandboxes exist today (Kubernetes arrives with issue [7])");
        }

        return new DrillService(
            new LocalSandboxProvider(options.Sandbox.WorkPath, time, loggers.CreateLogger<LocalSandboxProvider>()),
            new RestorePipeline(
                new DatabaseRestorer(time, loggers.CreateLogger<DatabaseRestorer>()),
                new FilestoreRestoreStep(new FilestoreRestorer(time, loggers.CreateLogger<FilestoreRestorer>()), new FilestoreRestoreOptions(options.Filestore.UploadParallelism)),
                time),
            http,
            time,
            loggers.CreateLogger<DrillService>());
    }

    public static Task SweepSandboxesAsync(BackupDrOptions options, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken) =>
        new SandboxJanitor(options.Sandbox.WorkPath, time, loggers.CreateLogger<SandboxJanitor>()).SweepAsync(cancellationToken);
}
