namespace BackupDr.TestSupport;

/// <summary>What tests read of Linux's <c>/proc</c>, each file read independently of the code under test.</summary>
public static class ProcFiles
{
    /// <summary>
    /// The fields of a <c>/proc/.../stat</c> line after the command name, which may hold spaces and parentheses:
    /// [0] is the state (field 3), [3] the session (field 6), [38] the scheduling policy (field 41).
    /// </summary>
    public static string[] StatFields(string statLine) => statLine[(statLine.LastIndexOf(')') + 2)..].Split(' ');

    /// <summary>The nice value of this process's session under autogroup (<c>/proc/self/autogroup</c>: "/autogroup-N nice V").</summary>
    public static string SessionNice()
    {
        var line = File.ReadAllText("/proc/self/autogroup").Trim();
        return line[(line.LastIndexOf(' ') + 1)..];
    }
}
