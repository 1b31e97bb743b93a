using System.Globalization;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// The CPU weight of this process's session under Linux's per-session scheduling groups (autogroup, in
/// <c>/proc/self/autogroup</c>), which apply to processes of the root CPU cgroup (a shell on a host without systemd's
/// slices, say; not a container or a systemd service). There, every session competes as one: a thread's own priority
/// counts only against the threads of its session, and each PostgreSQL backend is a session of its own (the
/// postmaster calls setsid for each). Lowering the session's weight is how this process yields the cores to a local
/// server's backends; tools that must keep their weight meanwhile run in sessions of their own
/// (<see cref="ChildProcessRequest.OwnSession"/>).
/// </summary>
internal static class SessionCpuWeight
{
    private const string AutogroupFile = "/proc/self/autogroup";

    /// <summary>The lowest weight (nice 19).</summary>
    public const int Lowest = 19;

    private static readonly object Gate = new();
    private static int _holders;
    private static int? _previous;

    /// <summary>True while the session is lowered by <see cref="Lower"/>, or waits to be set back.</summary>
    public static bool Lowered
    {
        get
        {
            lock (Gate)
            {
                return _previous is not null;
            }
        }
    }

    /// <summary>
    /// Lowers the session to <see cref="Lowest"/> for the caller until it calls <see cref="Release"/>: callers of this
    /// process overlap (two drills), and the session goes back to its own value when the last one leaves. Returns
    /// whether the session is lowered (false where there is no autogroup or the kernel refused).
    /// </summary>
    public static bool Lower()
    {
        lock (Gate)
        {
            if (_holders++ == 0 && _previous is null)
            {
                _previous = TrySet(Lowest);
            }

            return _previous is not null;
        }
    }

    /// <summary>Ends a <see cref="Lower"/>; the last one sets the session back (<see cref="TryRestore"/>).</summary>
    public static void Release()
    {
        lock (Gate)
        {
            _holders--;
        }

        TryRestore();
    }

    /// <summary>
    /// Makes sure the session is back to its own value once no caller holds it lowered, through the kernel's rate limit
    /// (one unprivileged change every 100 ms, machine-wide): call it when a <see cref="Lower"/> has ended, whatever
    /// happened. Not cancellable: a session must not be left lowered.
    /// </summary>
    /// <exception cref="InvalidOperationException">It could not be set back within about 2 seconds.</exception>
    public static async Task RestoreAsync()
    {
        for (var attempt = 0; !TryRestore(); attempt++)
        {
            if (attempt == 20)
            {
                throw new InvalidOperationException(
                    $"could not set the CPU weight of this process's session back from nice {Lowest} ({AutogroupFile}): its processes keep the lowest weight against other sessions until it ends");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(110), CancellationToken.None);
        }
    }

    /// <summary>
    /// Sets the session back to its own value once no caller holds it lowered; false while that is still to do (the
    /// kernel refused: its rate limit, try again after 100 ms).
    /// </summary>
    private static bool TryRestore()
    {
        lock (Gate)
        {
            if (_holders > 0 || _previous is not { } previous)
            {
                return true;
            }

            if (TrySet(previous) is null)
            {
                return false;
            }

            _previous = null;
            return true;
        }
    }

    /// <summary>
    /// Sets the session's nice value and returns the one it had, or null where there is no autogroup (not Linux, a
    /// kernel without it) or it could not be changed: nothing was changed then. Setting it back to the value it had
    /// needs no privilege (only a value below 0 does), but the kernel allows one unprivileged change every 100 ms,
    /// machine-wide: try again after that.
    /// </summary>
    private static int? TrySet(int nice)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(AutogroupFile))
        {
            return null;
        }

        try
        {
            // "/autogroup-123 nice 0"
            var current = File.ReadAllText(AutogroupFile).Trim();
            var previous = int.Parse(current[(current.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            File.WriteAllText(AutogroupFile, nice.ToString(CultureInfo.InvariantCulture));
            return previous;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Refused (the rate limit above) or unreadable: nothing changed, and the caller is told so.
            return null;
        }
    }
}
