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

    /// <param name="dataLoaded">
    /// Called once every table's data is in (indexes and constraints may still be building), from pg_restore's thread
    /// of output; with one job, when pg_restore ends. Never called when the restore fails first.
    /// </param>
    public static async Task RunAsync(int major, string dumpFile, string connectionString, int jobs, Action? dataLoaded, CancellationToken cancellationToken)
    {
        var pgRestore = PostgresInstallation.Locate(major).FindTool("pg_restore");
        var environment = PostgresToolEnvironment.From(connectionString);
        jobs = Math.Max(1, jobs);
        Func<string, bool>? follow = null;
        if (dataLoaded is not null && jobs > 1)
        {
            // In parallel mode pg_restore --verbose reports "finished item <id> TABLE DATA <table>" as each table's
            // COPY commits; the list of the archive says how many there are.
            var list = await ChildProcess.RunAsync(new ChildProcessRequest(pgRestore, ["--list", dumpFile]) { MaxStandardOutputChars = 64 * 1024 * 1024 }, cancellationToken);
            var remaining = list.StandardOutput.Split('\n').Count(IsTableData);
            if (remaining == 0)
            {
                dataLoaded();
                dataLoaded = null;
            }
            else
            {
                follow = line =>
                {
                    if (line.StartsWith("pg_restore: finished item ", StringComparison.Ordinal) && line.Contains(" TABLE DATA ", StringComparison.Ordinal)
                        && Interlocked.Decrement(ref remaining) == 0)
                    {
                        Interlocked.Exchange(ref dataLoaded, null)?.Invoke();
                    }

                    return !VerboseChatter.Any(prefix => line.StartsWith(prefix, StringComparison.Ordinal));
                };
            }
        }

        List<string> arguments =
        [
            "--format=custom",
            "--jobs=" + jobs.ToString(CultureInfo.InvariantCulture),
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            "--dbname=" + new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Database,
            dumpFile,
        ];
        if (follow is not null)
        {
            arguments.Insert(0, "--verbose");
        }

        await ChildProcess.RunAsync(new ChildProcessRequest(pgRestore, arguments)
        {
            Environment = environment,
            OnStandardErrorLine = follow,
        }, cancellationToken);
        Interlocked.Exchange(ref dataLoaded, null)?.Invoke();
    }

    /// <summary>Progress lines of <c>pg_restore --verbose</c>, kept out of the error tail so that it holds the error.</summary>
    private static readonly string[] VerboseChatter =
    [
        "pg_restore: launching item ", "pg_restore: finished item ", "pg_restore: creating ", "pg_restore: processing ",
        "pg_restore: connecting to database", "pg_restore: entering ", "pg_restore: finished main parallel loop", "pg_restore: executing ",
    ];

    /// <summary>A line of <c>pg_restore --list</c> for a table's data: <c>3525; 0 16420 TABLE DATA public account_move_line odoo</c>.</summary>
    private static bool IsTableData(string line) =>
        !line.StartsWith(';') && line.Contains(" TABLE DATA ", StringComparison.Ordinal);
}
