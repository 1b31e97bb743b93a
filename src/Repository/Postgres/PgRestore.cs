using System.Globalization;
using System.Text.RegularExpressions;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// Runs <c>pg_restore</c> of a major version from a local custom-format dump file into an existing database, with
/// parallel jobs. Owners and privileges are not restored (<c>--no-owner --no-privileges</c>): the copy belongs to
/// the user who restores it, so it works on a server that lacks the source's roles.
/// </summary>
internal static partial class PgRestore
{
    /// <summary>The <c>pg_restore --version</c> line, recorded in drill records.</summary>
    public static async Task<string> VersionAsync(int major, CancellationToken cancellationToken)
    {
        var pgRestore = PostgresInstallation.Locate(major).FindTool("pg_restore");
        var result = await ChildProcess.RunAsync(new ChildProcessRequest(pgRestore, ["--version"]), cancellationToken);
        return result.StandardOutput.Trim();
    }

    /// <param name="itemFinished">
    /// When given, pg_restore runs with <c>--verbose</c> and this is called with the dump id of every item its parallel
    /// jobs finish (table data, indexes, constraints), from pg_restore's stderr reader; its progress lines are not
    /// kept for the error message.
    /// </param>
    public static async Task RunAsync(
        int major, string dumpFile, string connectionString, int jobs, Action<int>? itemFinished, CancellationToken cancellationToken)
    {
        var pgRestore = PostgresInstallation.Locate(major).FindTool("pg_restore");
        var environment = PostgresToolEnvironment.From(connectionString);
        List<string> arguments =
        [
            "--format=custom",
            "--jobs=" + Math.Max(1, jobs).ToString(CultureInfo.InvariantCulture),
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            "--dbname=" + new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Database,
        ];
        if (itemFinished is not null)
        {
            arguments.Add("--verbose");
        }

        arguments.Add(dumpFile);
        await ChildProcess.RunAsync(new ChildProcessRequest(pgRestore, arguments)
        {
            Environment = environment,
            OnStandardErrorLine = itemFinished is null ? null : line => Follow(line, itemFinished),
        }, cancellationToken);
    }

    /// <summary>
    /// Reports a "finished item" line; returns false for every line of <c>--verbose</c> progress, true for what pg_restore
    /// says otherwise (errors, warnings and their details, which the error message quotes).
    /// </summary>
    internal static bool Follow(string line, Action<int> itemFinished)
    {
        const string Prefix = "pg_restore: ";
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return true;
        }

        var message = line.AsSpan(Prefix.Length);
        if (message.StartsWith("error: ") || message.StartsWith("warning: ") || message.StartsWith("detail: ") || message.StartsWith("hint: "))
        {
            return true;
        }

        var finished = FinishedItem().Match(line);
        if (finished.Success)
        {
            itemFinished(int.Parse(finished.Groups[1].ValueSpan, CultureInfo.InvariantCulture));
        }

        return false;
    }

    [GeneratedRegex(@"^pg_restore: finished item (\d+) ")]
    private static partial Regex FinishedItem();
}
