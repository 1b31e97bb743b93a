using System.Globalization;
using System.Text;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// Fingerprints tables from the bytes of <c>COPY ... TO STDOUT</c> as psql writes them, with pg_dump's output settings:
/// one psql session for all the tables, each table's rows followed by a marker line <c>\.</c> (COPY text
/// never starts a row with it: a backslash in a value is written <c>\\</c>).
/// </summary>
internal static class CopyFingerprints
{
    /// <summary>pg_dump's output settings for COPY (plus UTC, which the backup gives pg_dump through PGTZ), for psql's session.</summary>
    public const string PgDumpOutputOptions = "-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 -c TimeZone=UTC -c bytea_output=hex";

    /// <param name="connectionString">Where psql connects (its password, if any, passed through the environment).</param>
    /// <param name="serverMajor">The server's major version: psql of that major is used.</param>
    /// <param name="tables">Existing tables; their rows are read with each table's column list.</param>
    /// <param name="snapshot">An exported snapshot to read all tables in (one transaction), or null for a transaction per table.</param>
    /// <returns>The fingerprints by table name.</returns>
    public static async Task<IReadOnlyDictionary<string, DumpedTable>> ReadAsync(
        string connectionString, int serverMajor, IReadOnlyList<DumpedTable> tables, string? snapshot, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, DumpedTable>(StringComparer.Ordinal);
        if (tables.Count == 0)
        {
            return result;
        }

        var script = new StringBuilder();
        if (snapshot is not null)
        {
            script.Append("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n")
                .Append(CultureInfo.InvariantCulture, $"SET TRANSACTION SNAPSHOT '{snapshot}';\n");
        }

        foreach (var table in tables)
        {
            script.Append(CultureInfo.InvariantCulture, $"COPY {DatabaseEvidence.Qualified(table.Table)} {table.Columns} TO STDOUT;\n")
                .Append("\\echo '\\\\.'\n");
        }

        if (snapshot is not null)
        {
            script.Append("COMMIT;\n");
        }

        var psql = PostgresInstallation.Locate(serverMajor).FindTool("psql");
        var environment = new Dictionary<string, string?>(PostgresToolEnvironment.From(connectionString))
        {
            ["PGCLIENTENCODING"] = "UTF8",
            ["PGOPTIONS"] = PgDumpOutputOptions,
            ["PGAPPNAME"] = "backupdr-fingerprints",
        };
        await using var process = RunningChildProcess.Start(new ChildProcessRequest(psql, ["--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--file=-"])
        {
            Environment = environment,
            StandardInput = script.ToString(),
            BlockingStandardOutput = true,
        });

        // Read and hashed on a thread of its own with blocking reads: through the thread pool, a drill's filestore
        // restore running beside this kept the rows waiting in psql's pipe (and the server's COPY idle) for seconds at
        // a time. Cancellation kills psql, which ends the pipe and the reads.
        int index;
        using (cancellationToken.Register(process.Kill))
        {
            index = await Task.Factory.StartNew(
                () => Consume(process.StandardOutput, tables, result), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        cancellationToken.ThrowIfCancellationRequested();
        await process.WaitForSuccessAsync(cancellationToken);
        if (index != tables.Count)
        {
            throw new InvalidDataException($"psql ended after {index} of {tables.Count} tables' COPY output");
        }

        return result;
    }

    /// <summary>Fingerprints each table's rows up to its marker line, in order; returns how many tables ended.</summary>
    private static int Consume(Stream output, IReadOnlyList<DumpedTable> tables, Dictionary<string, DumpedTable> result)
    {
        var index = 0;
        var fingerprint = new RowFingerprint();
        var buffer = new byte[1 << 16];
        int read;
        while ((read = output.Read(buffer)) > 0)
        {
            var data = buffer.AsSpan(0, read);
            while (!data.IsEmpty)
            {
                if (index == tables.Count)
                {
                    throw new InvalidDataException("psql wrote more COPY output than the tables it was asked for");
                }

                data = data[fingerprint.AppendUntilTerminator(data)..];
                if (fingerprint.Ended)
                {
                    var table = tables[index++];
                    result[table.Table] = new DumpedTable(table.Table, table.Columns, fingerprint.Rows, fingerprint.Value);
                    fingerprint = new RowFingerprint();
                }
            }
        }

        return index;
    }
}
