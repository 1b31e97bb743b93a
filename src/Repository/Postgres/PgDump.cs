using System.Globalization;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// Runs <c>pg_dump</c> of the source's major version in custom format, uncompressed (we compress in the pipeline),
/// under an exported snapshot, writing to standard output. The password travels in the environment only.
/// </summary>
internal static class PgDump
{
    /// <summary>How long pg_dump waits for a table lock before failing, instead of hanging behind a migration.</summary>
    public static readonly TimeSpan LockWaitTimeout = TimeSpan.FromMinutes(5);

    /// <exception cref="PostgresToolMissingException">No pg_dump of that major version is installed.</exception>
    /// <param name="applicationName">Names pg_dump's server session, so that it can be found and ended (<see cref="SourceSnapshot.TerminateSessionsAsync"/>).</param>
    public static RunningChildProcess Start(int major, string connectionString, string snapshotId, string applicationName)
    {
        var pgDump = PostgresInstallation.Locate(major).FindTool("pg_dump");
        string[] arguments =
        [
            "--format=custom",
            "--compress=0",
            "--snapshot=" + snapshotId,
            "--no-password",
            "--lock-wait-timeout=" + ((long)LockWaitTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
        ];
        return RunningChildProcess.Start(new ChildProcessRequest(pgDump, arguments)
        {
            Environment = new Dictionary<string, string?>(PostgresToolEnvironment.From(connectionString)) { ["PGAPPNAME"] = applicationName },
        });
    }

    /// <summary>The <c>pg_dump --version</c> line, recorded in the manifest.</summary>
    public static async Task<string> VersionAsync(int major, CancellationToken cancellationToken)
    {
        var pgDump = PostgresInstallation.Locate(major).FindTool("pg_dump");
        var result = await ChildProcess.RunAsync(new ChildProcessRequest(pgDump, ["--version"]), cancellationToken);
        return result.StandardOutput.Trim();
    }
}
