using Microsoft.Extensions.Logging;

namespace BackupDr.DrillRunner.Sandboxes;

/// <summary>What one sweep found: sandboxes removed, sandboxes in use, and those it could not remove (with why).</summary>
internal sealed record JanitorReport(IReadOnlyList<string> Removed, IReadOnlyList<string> InUse, IReadOnlyList<string> Failed)
{
    /// <summary>
    /// The sandboxes that will not go away, per the target they belong to (for the sandbox cleanup alert). A subset of
    /// <see cref="Failed"/>: a failure that names no sandbox (e.g. the list was refused) is not here.
    /// </summary>
    public IReadOnlyList<StuckSandbox> Stuck { get; init; } = [];

    /// <summary>True when the sweep could not see every sandbox (e.g. the API server refused the list): <see cref="Stuck"/> may miss some.</summary>
    public bool Incomplete { get; init; }
}

/// <summary>A sandbox the janitor found that will not go away, the target it was made for, and why it is stuck.</summary>
internal sealed record StuckSandbox(string SandboxId, string Target, string Problem);

/// <summary>Removes what drills of one sandbox kind left behind when their process died. Safe to run beside running drills.</summary>
internal interface ISandboxJanitor
{
    Task<JanitorReport> SweepAsync(CancellationToken cancellationToken);
}

/// <summary>Several janitors as one (a Kubernetes sandbox leaves a namespace and a local staging folder): every one sweeps, reports are merged.</summary>
internal sealed class CompositeSandboxJanitor(IReadOnlyList<ISandboxJanitor> janitors) : ISandboxJanitor
{
    public async Task<JanitorReport> SweepAsync(CancellationToken cancellationToken)
    {
        List<string> removed = [], inUse = [], failed = [];
        List<StuckSandbox> stuck = [];
        var incomplete = false;
        foreach (var janitor in janitors)
        {
            var report = await janitor.SweepAsync(cancellationToken);
            removed.AddRange(report.Removed);
            inUse.AddRange(report.InUse);
            failed.AddRange(report.Failed);
            stuck.AddRange(report.Stuck);
            incomplete |= report.Incomplete;
        }

        return new JanitorReport(removed, inUse, failed) { Stuck = stuck, Incomplete = incomplete };
    }
}

/// <summary>
/// Removes local sandbox folders (for Kubernetes sandboxes: the worker's staging and filestore folders) left behind by a process that crashed or was killed (its server may still run: pg_ctl
/// starts it detached). A sandbox is left alone while its owner process lives on this host; a sandbox of another
/// host (a shared work path) is never touched. <c>backupdr drill</c> sweeps at start; the worker service schedules
/// <see cref="SweepAsync"/> too. Safe to run concurrently with drills. A sandbox it cannot remove is reported as stuck
/// for the target its owner file names (the worker's sandbox cleanup alert), and retried on the next sweep.
/// </summary>
internal sealed partial class SandboxJanitor(string workPath, TimeProvider time, ILogger<SandboxJanitor> logger) : ISandboxJanitor
{
    /// <summary>A sandbox folder without an owner file is only removed after this long: its creator may be writing it now.</summary>
    private static readonly TimeSpan UnownedGrace = TimeSpan.FromMinutes(10);

    public async Task<JanitorReport> SweepAsync(CancellationToken cancellationToken)
    {
        List<string> removed = [], inUse = [], failed = [];
        List<StuckSandbox> stuck = [];
        var root = Path.GetFullPath(workPath);
        if (!Directory.Exists(root))
        {
            return new JanitorReport(removed, inUse, failed);
        }

        foreach (var folder in Directory.EnumerateDirectories(root, SandboxFolder.Prefix + "*"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var id = Path.GetFileName(folder);
            var owner = SandboxOwner.Read(folder);
            if (owner is null ? time.GetUtcNow() - Directory.GetCreationTimeUtc(folder) < UnownedGrace : owner.IsAlive() || owner.Host != Environment.MachineName)
            {
                inUse.Add(id);
                continue;
            }

            try
            {
                await LocalSandbox.RemoveAsync(folder, cluster: null, time);
                removed.Add(id);
                LogRemoved(logger, id, owner?.DrillId ?? "unknown", owner?.ProcessId ?? 0);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Loop boundary: one sandbox that cannot be removed (permissions, a wedged server) must not stop the sweep;
                // it is reported, logged and retried on the next sweep.
                failed.Add($"{id}: {e.Message}");
                if (owner is not null)
                {
                    stuck.Add(new StuckSandbox(id, owner.Target, $"sandbox {id} ({folder}) could not be removed: {e.Message}"));
                }

                LogRemoveFailed(logger, e, id);
            }
        }

        return new JanitorReport(removed, inUse, failed) { Stuck = stuck };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed sandbox {SandboxId} left by drill {DrillId} (process {ProcessId} is gone)")]
    private static partial void LogRemoved(ILogger logger, string sandboxId, string drillId, int processId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not remove stale sandbox {SandboxId}; it will be retried on the next sweep")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception, string sandboxId);
}
