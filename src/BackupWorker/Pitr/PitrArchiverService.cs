using BackupDr.BackupWorker.Hosting;
using BackupDr.Repository.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BackupDr.BackupWorker.Pitr;

/// <summary>
/// Runs one <see cref="WalArchiver"/> per PITR target for the life of <c>backupdr run</c>. In a fleet every replica
/// starts one, but only the holder of the target's advisory lock on the source streams (the lock dies with its session,
/// so a dead replica's target is taken over at the next attempt); the others retry every
/// <see cref="BusyRetry"/>. A failed archiver (source down, pg_receivewal exited) is restarted after a backoff that
/// doubles to five minutes; the slot keeps the WAL meanwhile, so a restart leaves no gap. After a failover the restart
/// reaches whatever the target's connection string now points at (the archiver creates its slot there: see docs).
/// </summary>
internal sealed partial class PitrArchiverService(
    BackupDrOptions options, RepositoryAccess repository, TimeProvider time, ILoggerFactory loggers) : BackgroundService
{
    public static readonly TimeSpan BusyRetry = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);
    private readonly ILogger _logger = loggers.CreateLogger<PitrArchiverService>();

    public string SpoolRoot => Path.Combine(Path.GetFullPath(options.Sandbox.WorkPath), "pitr-spool");

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(options.Targets.Where(t => t.Pitr.Enabled).Select(t => KeepArchivingAsync(t, stoppingToken)));

    private async Task KeepArchivingAsync(TargetOptions target, CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromSeconds(5);
        while (!stoppingToken.IsCancellationRequested)
        {
            var delay = backoff;
            try
            {
                var opened = await repository.OpenAsync(stoppingToken);
                var archiver = new WalArchiver(target, SpoolRoot, time, loggers.CreateLogger<WalArchiver>());
                await archiver.RunAsync(opened.Store, opened.MasterKey, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (ArchiverBusyException e)
            {
                LogBusy(_logger, target.Name, e.Message);
                delay = BusyRetry;
            }
            catch (Exception e)
            {
                // The archiver's loop boundary: logged as an error (the archive-lag and archive-hole alert rules page
                // on-call from the repository's state) and retried; the worker's other duties go on.
                LogFailed(_logger, e, target.Name, e.Message, backoff.TotalSeconds);
                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }

            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PITR {Target}: {Reason}; retrying later")]
    private static partial void LogBusy(ILogger logger, string target, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "PITR archiver of {Target} failed: {Error}; restarting in {Seconds:F0} s")]
    private static partial void LogFailed(ILogger logger, Exception exception, string target, string error, double seconds);
}
