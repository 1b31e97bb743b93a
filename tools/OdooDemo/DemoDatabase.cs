using System.Diagnostics;
using Npgsql;

namespace BackupDr.OdooDemo;

/// <summary>
/// What a generation produced: rows per table (by name), pg_database_size after the load, and the distinct files
/// and bytes written to the filestore.
/// </summary>
internal sealed record DemoSummary(
    int Scale,
    long Seed,
    IReadOnlyDictionary<string, long> RowCounts,
    long DatabaseBytes,
    int FilestoreFiles,
    long FilestoreBytes,
    TimeSpan Elapsed);

/// <summary>The database is not empty (it already has Odoo tables) and replacing was not asked for.</summary>
internal sealed class DemoDatabaseNotEmptyException(string message) : Exception(message);

/// <summary>
/// Generates a deterministic Odoo-17-like database and its filestore. Same scale and seed, same rows and files,
/// byte for byte.
/// </summary>
/// <remarks>
/// What a scale N (number of account_move rows) produces:
/// 2 companies; max(46, N/10) + 4 partners; 22 + N/500 users; 120 accounts; 10 journals; N moves (90% posted,
/// each balanced) with 1-6 product lines plus a tax line (invoices, refunds) and a counterpart line each (about
/// 5.4 N journal items); max(10, N/40) filestore files (about 40 KiB on average: PDF and XML text that compresses,
/// JPEG and PNG noise that does not) referenced by as many ir_attachment rows plus 5% that share a file, max(2, N/1000)
/// attachments in db_datas and max(2, N/4000) URL attachments; fixed settings rows (13 crons, 2 mail servers, 2
/// fetchmail servers, 5 payment providers, 3 carriers, 15 parameters, 23 modules) and their ir_model_data.
/// Scale 2000: about 11,000 journal items and 2 MiB of files; scale 200000: about 1.1 million items and 200 MiB.
/// </remarks>
internal static class DemoDatabase
{
    public const long DefaultSeed = 42;
    public const int MinimumScale = 10;

    /// <summary>
    /// Creates the tables in the database of <paramref name="connectionString"/> and fills them, and writes the
    /// filestore under <paramref name="filestorePath"/>. The database load is one transaction: it is all there or
    /// not at all. The filestore is written before the commit; a failed run may leave files, which a rerun with
    /// <paramref name="replace"/> clears.
    /// </summary>
    /// <remarks>
    /// With <c>replace</c>, the generator's tables are dropped if the database has them and the filestore folder is
    /// emptied. Without it, a database that has <c>res_partner</c> or a non-empty filestore folder is refused.
    /// </remarks>
    /// <exception cref="DemoDatabaseNotEmptyException">The database or filestore already holds data.</exception>
    public static async Task<DemoSummary> GenerateAsync(
        string connectionString, string filestorePath, int scale, long seed, CancellationToken cancellationToken, bool replace = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, MinimumScale);
        var started = Stopwatch.GetTimestamp();
        filestorePath = Path.GetFullPath(filestorePath);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        if (await ScalarAsync<bool>(connection, "SELECT to_regclass('public.res_partner') IS NOT NULL", cancellationToken) && !replace)
        {
            throw new DemoDatabaseNotEmptyException(
                $"Database '{connection.Database}' already has Odoo tables (res_partner); use an empty database or --force to replace them.");
        }

        if (Directory.Exists(filestorePath) && Directory.EnumerateFileSystemEntries(filestorePath).Any())
        {
            if (!replace)
            {
                throw new DemoDatabaseNotEmptyException($"The filestore folder {filestorePath} is not empty; use an empty folder or --force to replace it.");
            }

            Directory.Delete(filestorePath, recursive: true);
        }

        using var filesCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var filesTask = Task.Run(() => DemoFilestore.WriteAsync(filestorePath, scale, seed, filesCancel.Token), filesCancel.Token);
        try
        {
            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
            {
                await ExecuteAsync(connection, "SET LOCAL synchronous_commit = off; SET LOCAL work_mem = '64MB'; "
                    + "SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL client_min_messages = warning", cancellationToken);
                if (replace)
                {
                    await ExecuteAsync(connection, "DROP TABLE IF EXISTS " + string.Join(", ", DemoSchema.Tables) + " CASCADE", cancellationToken);
                }

                await ExecuteAsync(connection, DemoSchema.Create, cancellationToken);
                await ExecuteAsync(connection, DemoData.Sql(scale, seed), cancellationToken);
                await ExecuteAsync(connection, DemoSettings.Sql(seed), cancellationToken);
                var files = await filesTask;
                await DemoAttachments.CopyAsync(connection, files, scale, seed, cancellationToken);
                await ExecuteAsync(connection, DemoSchema.Constraints, cancellationToken);
                await ExecuteAsync(connection, SequencesAndChecks(), cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }

            await ExecuteAsync(connection, "ANALYZE", cancellationToken);
        }
        catch
        {
            await filesCancel.CancelAsync();
            await Task.WhenAny(filesTask);
            throw;
        }

        var written = await filesTask;
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in DemoSchema.Tables.Order(StringComparer.Ordinal))
        {
            counts[table] = await ScalarAsync<long>(connection, $"SELECT count(*) FROM {table}", cancellationToken);
        }

        var distinct = written.DistinctBy(f => f.Sha1).ToList();
        return new DemoSummary(
            scale,
            seed,
            counts,
            await ScalarAsync<long>(connection, "SELECT pg_database_size(current_database())", cancellationToken),
            distinct.Count,
            distinct.Sum(f => (long)f.Size),
            Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Sequences in step with the explicit ids, then the ledger invariant every restore drill probes.</summary>
    private static string SequencesAndChecks() =>
        string.Concat(DemoSchema.Tables.Select(t => $"SELECT setval(pg_get_serial_sequence('public.{t}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {t}), false);\n"))
        + """
        DO $$
        DECLARE bad bigint;
        BEGIN
          SELECT count(*) INTO bad FROM (
            SELECT l.move_id FROM account_move_line l JOIN account_move m ON m.id = l.move_id
            WHERE m.state = 'posted' GROUP BY l.move_id HAVING sum(l.debit) <> sum(l.credit)) u;
          IF bad > 0 THEN RAISE EXCEPTION '% posted moves are unbalanced', bad; END IF;
        END $$;
        """;

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
