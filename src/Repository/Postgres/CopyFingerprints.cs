using System.Globalization;
using System.Text;
using Npgsql;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// Fingerprints tables from the bytes of <c>COPY ... TO STDOUT</c> as psql writes them, in the snapshot of an open
/// transaction: one psql session for all the tables, each table's rows followed by a marker line <c>\.</c> (COPY text
/// never starts a row with it: a backslash in a value is written <c>\\</c>).
/// </summary>
internal static class CopyFingerprints
{
    /// <param name="connection">Open, inside a transaction whose snapshot psql imports.</param>
    /// <param name="connectionString">Where psql connects (the same database, with its password, if any, passed through the environment).</param>
    /// <param name="tables">Existing tables; their rows are read with each table's column list.</param>
    /// <param name="settings">SQL run first in psql's transaction (the output settings, <c>SET LOCAL ...</c>).</param>
    /// <returns>The fingerprints by table name.</returns>
    public static async Task<IReadOnlyDictionary<string, DumpedTable>> ReadAsync(
        NpgsqlConnection connection, string connectionString, IReadOnlyList<DumpedTable> tables, string settings, CancellationToken cancellationToken)
    {
        string snapshot;
        await using (var export = new NpgsqlCommand("SELECT pg_export_snapshot()", connection))
        {
            snapshot = (string)(await export.ExecuteScalarAsync(cancellationToken))!;
        }

        var script = new StringBuilder()
            .Append("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n")
            .Append(CultureInfo.InvariantCulture, $"SET TRANSACTION SNAPSHOT '{snapshot}';\n")
            .Append(settings).Append(";\n");
        foreach (var table in tables)
        {
            script.Append(CultureInfo.InvariantCulture, $"COPY {DatabaseEvidence.Qualified(table.Table)} {table.Columns} TO STDOUT;\n")
                .Append("\\echo '\\\\.'\n");
        }

        script.Append("COMMIT;\n");

        var psql = PostgresInstallation.Locate(connection.PostgreSqlVersion.Major).FindTool("psql");
        var environment = new Dictionary<string, string?>(PostgresToolEnvironment.From(connectionString))
        {
            ["PGCLIENTENCODING"] = "UTF8",
            ["PGAPPNAME"] = "backupdr-fingerprints",
        };
        await using var process = RunningChildProcess.Start(new ChildProcessRequest(psql, ["--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--file=-"])
        {
            Environment = environment,
            StandardInput = script.ToString(),
        });

        var result = new Dictionary<string, DumpedTable>(StringComparer.Ordinal);
        var index = 0;
        var fingerprint = new RowFingerprint();
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await process.StandardOutput.ReadAsync(buffer, cancellationToken)) > 0)
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

        await process.WaitForSuccessAsync(cancellationToken);
        if (index != tables.Count)
        {
            throw new InvalidDataException($"psql ended after {index} of {tables.Count} tables' COPY output");
        }

        return result;
    }
}
