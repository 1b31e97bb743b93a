using System.Text.Json.Nodes;
using BackupDr.BackupWorker.Alerts;
using BackupDr.BackupWorker.Backups;
using BackupDr.BackupWorker.Drills;
using BackupDr.BackupWorker.Metrics;
using BackupDr.BackupWorker.Pitr;
using BackupDr.BackupWorker.Retention;
using BackupDr.BackupWorker.Scheduling;
using BackupDr.Repository.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;

namespace BackupDr.BackupWorker.Hosting;

/// <summary>
/// The generic host of <c>backupdr run</c>: Quartz (in-memory, or clustered in PostgreSQL), the schedule registrar,
/// the heartbeat, and Kestrel serving <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> on <c>Http:Port</c>.
/// Stopping it interrupts running jobs (their tokens are cancelled) and waits for them up to
/// <c>Scheduler:ShutdownTimeout</c>.
/// </summary>
internal static class WorkerHost
{
    /// <param name="configure">Where the composition root binds optional seams (<see cref="IScheduledDrillService"/>).</param>
    public static WebApplication Build(BackupDrOptions options, ILoggerFactory loggerFactory, TimeProvider time, Action<IServiceCollection>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = "backupdr" });

        // The validated BackupDrOptions are the only configuration; nothing else is read from the environment.
        builder.Configuration.Sources.Clear();
        // Logs go through the command's Serilog factory (its format rule, scopes as properties); the caller owns it.
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(options.Http.Port));
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.Scheduler.ShutdownTimeout);

        var identity = WorkerIdentity.Create(options.Scheduler, time);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(options.Filestore);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(identity);
        builder.Services.AddSingleton<RepositoryAccess>();
        builder.Services.AddSingleton<WorkerMetrics>();
        builder.Services.AddSingleton<WorkerReadiness>();
        builder.Services.AddSingleton<DatabaseBackupService>();
        builder.Services.AddSingleton<ScheduledBackupService>();
        builder.Services.AddSingleton<ScheduledDrillRunner>();
        builder.Services.AddSingleton<PruneService>();
        builder.Services.AddSingleton<JobRunner>();
        builder.Services.AddSingleton<WorkerAlerts>();
        builder.Services.AddHostedService<AlertingService>();
        configure?.Invoke(builder.Services);

        builder.Services.AddQuartz(quartz => ConfigureQuartz(quartz, options, identity));

        // Order matters: the registrar puts the schedule in before Quartz's hosted service starts the scheduler.
        builder.Services.AddHostedService<ScheduleRegistrar>();
        builder.Services.AddQuartzHostedService(hosted => hosted.WaitForJobsToComplete = true);
        builder.Services.AddHostedService<HeartbeatService>();
        if (options.Targets.Any(t => t.Pitr.Enabled))
        {
            builder.Services.AddSingleton<BaseBackupService>();
            builder.Services.AddHostedService<PitrArchiverService>();
        }

        var app = builder.Build();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", ReadyAsync);
        app.MapGet("/metrics", (WorkerMetrics metrics) => Results.Text(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8"));
        return app;
    }

    private static void ConfigureQuartz(IQuartzBuilder quartz, BackupDrOptions options, WorkerIdentity identity)
    {
        var scheduler = options.Scheduler;

        // The execution groups cap each kind (across the cluster when clustered); the pool caps this replica.
        quartz.UseDefaultThreadPool(scheduler.ThreadsPerReplica);
        var scope = scheduler.Clustered ? ExecutionLimitScope.Cluster : ExecutionLimitScope.Node;
        quartz.UseExecutionLimits(limits => limits
            .ForGroup(WorkerJobs.ExecutionGroup(WorkerJobKind.Backup), scheduler.MaxConcurrentBackups, scope)
            .ForGroup(WorkerJobs.ExecutionGroup(WorkerJobKind.Drill), scheduler.MaxConcurrentDrills, scope)
            .ForGroup(WorkerJobs.ExecutionGroup(WorkerJobKind.Prune), 1, scope));

        // On stop the job tokens are cancelled, then the jobs are awaited (child processes killed, uploads aborted).
        quartz.ConfigureScheduler(s =>
        {
            s.InstanceName = "backupdr";
            s.InstanceId = identity.InstanceId;
            s.ShutdownJobInterruption = ShutdownJobInterruption.WhenWaitingForJobs;
        });
        if (scheduler.Clustered)
        {
            quartz.UsePersistentStore(store =>
            {
                store.UsePostgres(scheduler.ConnectionString);

                // Creates the qrtz_* tables from the tables_postgres script embedded in Quartz when they are missing;
                // several replicas starting at once are safe (the loser finds the winner's schema).
                store.ProvisionSchema();
                store.UseSystemTextJsonSerializer(json => json.AddCalendarSerializer(new BlackoutCalendarSerializer()));
                store.UseClustering(cluster =>
                {
                    cluster.CheckinInterval = scheduler.ClusterCheckinInterval;
                    cluster.CheckinMisfireThreshold = scheduler.ClusterCheckinMisfireThreshold;
                });
                store.ConfigureStore(ado =>
                {
                    ado.MisfireThreshold = scheduler.MisfireThreshold;

                    // A job cancelled by this replica's stop is handed to another replica instead of being lost.
                    ado.RecoverFiringsCancelledByShutdown = true;
                });
            });
        }
        else
        {
            quartz.UseInMemoryStore(store => store.MisfireThreshold = scheduler.MisfireThreshold);
        }
    }

    private static async Task<IResult> ReadyAsync(ISchedulerFactory factory, WorkerReadiness readiness, CancellationToken cancellationToken)
    {
        var scheduler = await factory.GetScheduler(cancellationToken);
        var repository = readiness.RepositoryProblem();
        var started = scheduler.Status == SchedulerStatus.Running;
        var body = new JsonObject
        {
            ["ready"] = repository is null && started,
            ["configuration"] = "valid",
            ["repository"] = repository ?? "reachable",
            ["scheduler"] = scheduler.Status.ToString(),
            ["instanceId"] = scheduler.SchedulerInstanceId,
        };
        return Results.Text(body.ToJsonString(), "application/json", statusCode: repository is null && started ? 200 : 503);
    }
}
