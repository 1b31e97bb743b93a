using System.Net;
using System.Net.Sockets;
using Xunit;

namespace BackupDr.TestSupport;

/// <summary>
/// Rules every server fixture follows. Under CI (<c>CI=true</c>) a missing server or tool fails the run;
/// on a developer machine the tests that need it are skipped with a message saying how to get it.
/// </summary>
public static class TestEnvironment
{
    public static bool IsCi =>
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The repository root (the folder holding BackupDr.sln).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>
    /// Call when a server or tool a test needs is not available. Fails under CI; skips elsewhere.
    /// </summary>
    public static void Unavailable(string what, string howToFix)
    {
        var message = $"{what} is not available: {howToFix}";
        if (IsCi)
        {
            throw new InvalidOperationException($"{message} (CI=true: a missing server fails the run)");
        }

        Assert.Skip(message);
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "BackupDr.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"BackupDr.sln not found above {AppContext.BaseDirectory}.");
    }
}
