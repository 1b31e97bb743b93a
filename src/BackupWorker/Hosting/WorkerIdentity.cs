using System.Security.Cryptography;
using System.Text.RegularExpressions;
using BackupDr.Repository.Configuration;

namespace BackupDr.BackupWorker.Hosting;

/// <summary>Who this replica is: its Quartz instance id (unique in a cluster) and heartbeat name.</summary>
internal sealed partial record WorkerIdentity(string InstanceId, string Host, DateTimeOffset StartedAt)
{
    /// <summary>The configured id, or the host name made key-safe plus a random suffix (a pod name is reused across restarts).</summary>
    public static WorkerIdentity Create(SchedulerOptions options, TimeProvider time)
    {
        var host = Environment.MachineName;
        var safe = Unsafe().Replace(host.ToLowerInvariant(), "-").Trim('-');
        var stem = safe.Length > 0 ? safe[..Math.Min(safe.Length, 32)].TrimEnd('-') : "worker";
        var id = options.InstanceId.Length > 0 ? options.InstanceId : $"{stem}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        return new WorkerIdentity(id, host, time.GetUtcNow());
    }

    [GeneratedRegex("[^a-z0-9-]+")]
    private static partial Regex Unsafe();
}
