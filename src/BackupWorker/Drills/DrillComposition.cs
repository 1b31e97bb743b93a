using BackupDr.DrillRunner.Drills;
using BackupDr.DrillRunner.Restore;
using BackupDr.DrillRunner.Sandboxes;
using BackupDr.DrillRunner.Sandboxes.Kubernetes;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Drills;

/// <summary>
/// Builds the one drill pipeline (the configured sandbox kind, restore with the filestore step, probes) for
/// <c>backupdr drill</c> and the worker alike, and sweeps sandboxes a crashed process left behind.
/// </summary>
internal static class DrillComposition
{
    public static DrillService Create(BackupDrOptions options, HttpClient http, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ISandboxProvider sandboxes = options.Sandbox.Kind switch
        {
            SandboxKind.Kubernetes => new KubernetesSandboxProvider(options.Sandbox.Kubernetes, options.Sandbox.WorkPath,
                KubernetesConnection.Configuration(options.Sandbox.Kubernetes), time, loggers.CreateLogger<KubernetesSandboxProvider>()),
            _ => new LocalSandboxProvider(options.Sandbox.WorkPath, time, loggers.CreateLogger<LocalSandboxProvider>()),
        };
        return new DrillService(
            sandboxes,
            new RestorePipeline(
                new DatabaseRestorer(time, loggers.CreateLogger<DatabaseRestorer>()),
                new FilestoreRestoreStep(new FilestoreRestorer(time, loggers.CreateLogger<FilestoreRestorer>()), new FilestoreRestoreOptions(options.Filestore.DownloadParallelism)),
                time),
            http,
            time,
            loggers.CreateLogger<DrillService>());
    }

    /// <summary>The janitor of the configured kind: local folders; for Kubernetes, expired namespaces and the worker's local folders.</summary>
    public static ISandboxJanitor Janitor(BackupDrOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        var local = new SandboxJanitor(options.Sandbox.WorkPath, time, loggers.CreateLogger<SandboxJanitor>());
        return options.Sandbox.Kind == SandboxKind.Kubernetes
            ? new CompositeSandboxJanitor([
                local,
                new KubernetesSandboxJanitor(options.Sandbox.Kubernetes, KubernetesConnection.Configuration(options.Sandbox.Kubernetes), time,
                    loggers.CreateLogger<KubernetesSandboxJanitor>()),
            ])
            : local;
    }

    public static Task<JanitorReport> SweepSandboxesAsync(BackupDrOptions options, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken) =>
        Janitor(options, time, loggers).SweepAsync(cancellationToken);
}
