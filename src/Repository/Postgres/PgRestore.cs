using System.Globalization;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// Runs <c>pg_restore</c> of a major version from a local custom-format dump file into an existing database, with
/// parallel jobs. Owners and privileges are not restored (<c>--no-owner --no-privileges</c>): the copy belongs to
/// the user who restores it, so it works on a server that lacks the source's roles.
/// </summary>
internal static class PgRestore
{
    /// <summary>The <c>pg_restore --version</c> line, recorded in drill records.</summary>
    public static async Task<string> VersionAsync(int major, CancellationToken cancellationToken)
    {
        var pgRestore = PostgresInstallation.Locate(major).FindTool("pg_restore");
        var result = await ChildProcess.RunAsync(new ChildProcessRequest(pgRestore, ["--version"]), cancellationToken);
        return result.StandardOutput.Trim();
    }

    public static async Task RunAsync(int major, string dumpFile, string connectionString, int jobs, CancellationToken cancellationToken)
    {
        var pgRestore = PostgresInstallation.Locate(major).FindTool("pg_restore");
        var environment = PostgresToolEnvironment.From(connectionString);
        string[] arguments =
        [
            "--format=custom",
            "--jobs=" + Math.Max(1, jobs).ToString(CultureInfo.InvariantCulture),
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            "--dbname=" + new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Database,
            dumpFile,
        ];
        // In a session of its own: a drill restores the filestore meanwhile in this process's, at idle priority.
        await ChildProcess.RunAsync(new ChildProcessRequest(pgRestore, arguments) { Environment = environment, OwnSession = true }, cancellationToken);
    }
}
