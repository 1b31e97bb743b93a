using System.Globalization;
using System.Text.Json;

namespace BackupDr.DrillRunner.Sandboxes;

/// <summary>
/// Who owns a local sandbox: written to <c>sandbox.json</c> before anything else, so the janitor can tell a sandbox in
/// use (its process is alive: same host, same pid, same process start time) from one left by a crash. The start
/// time guards against pid reuse after a reboot or a busy host.
/// </summary>
internal sealed record SandboxOwner(string Host, int ProcessId, long ProcessStartTicks, string DrillId, string Target, DateTimeOffset CreatedAt)
{
    public const string FileName = "sandbox.json";

    public static SandboxOwner Current(string drillId, string target, DateTimeOffset now) =>
        new(Environment.MachineName, Environment.ProcessId, StartTicks(Environment.ProcessId) ?? 0, drillId, target, now);

    /// <summary>True when the owning process still runs on this host.</summary>
    public bool IsAlive() =>
        Host == Environment.MachineName && StartTicks(ProcessId) is { } ticks && ticks == ProcessStartTicks;

    public async Task WriteAsync(string folder, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, FileName);
        await File.WriteAllTextAsync(path + ".tmp", JsonSerializer.Serialize(this), cancellationToken);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>The owner recorded in <paramref name="folder"/>, or null when there is none or it is unreadable.</summary>
    public static SandboxOwner? Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<SandboxOwner>(File.ReadAllText(path)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Field 22 of <c>/proc/PID/stat</c> (start time in clock ticks since boot), or null when the process is gone.</summary>
    private static long? StartTicks(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ? ticks : null;
    }
}
