using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Hosting;
using BackupDr.Repository.Retention;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace BackupDr.BackupWorker.Cli;

internal sealed partial class BackupDrCli
{
    /// <summary>
    /// <c>backupdr run</c>: the worker service, until SIGTERM or SIGINT. The repository is opened first (a wrong
    /// passphrase or a missing repository stops it with exit 2 before anything is scheduled); a clean stop exits 0.
    /// </summary>
    private async Task<int> RunWorkerAsync(CommandInvocation invocation, CancellationToken cancellationToken)
    {
        await using var app = WorkerHost.Build(invocation.Options, invocation.LoggerFactory, invocation.Time,
            services =>
            {
                services.AddSingleton<DrillProtections>();
                services.AddSingleton<IDrillProtectionSource>(provider => provider.GetRequiredService<DrillProtections>());
                services.AddSingleton<IScheduledDrillService, ScheduledDrillService>();

                // How a restored PITR drill cluster calls back into this executable for WAL (same configuration).
                services.AddSingleton(BuildWalFetchCommand(invocation));
            });
        var identity = app.Services.GetRequiredService<WorkerIdentity>();
        var repository = await app.Services.GetRequiredService<RepositoryAccess>().OpenAsync(cancellationToken);
        await ConfigurationAudit.RecordIfChangedAsync(repository, invocation.Options, invocation.Time, cancellationToken);

        // Sandboxes a killed predecessor left (local folders and servers; expired Kubernetes namespaces) go at start-up;
        // every scheduled drill sweeps again before it starts. The janitor logs what it removed and what it could not.
        await DrillComposition.SweepSandboxesAsync(invocation.Options, invocation.Time, invocation.LoggerFactory, cancellationToken);

        // Runs until the token (SIGTERM, SIGINT) stops the host, and disposes it (disposing again is a no-op).
        await HostingAbstractionsHostExtensions.RunAsync(app, cancellationToken);
        return invocation.Output.Success(
            new JsonObject { ["instanceId"] = identity.InstanceId, ["stopped"] = true },
            $"backupdr run {identity.InstanceId} stopped");
    }
}
