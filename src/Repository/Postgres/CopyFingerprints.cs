using System.Globalization;
using System.Runtime.CompilerServices;

namespace BackupDr.Repository.Postgres;

/// <summary>The rows of a table that one COPY reads: all of them, or those in a range of its heap's blocks.</summary>
/// <param name="FromBlock">The first block of the range; 0 with a null <paramref name="ToBlock"/> is the whole table.</param>
/// <param name="ToBlock">The block after the range; null for the end of the table, however long it is.</param>
internal sealed record FingerprintRead(DumpedTable Table, long FromBlock = 0, long? ToBlock = null)
{
    public bool Whole => FromBlock == 0 && ToBlock is null;

    /// <summary>
    /// The COPY statement: the table with the dump's column list, or the same columns of a TID range scan of its own
    /// rows (<c>FROM ONLY</c>, as pg_dump reads a table), which COPY writes in the same text form.
    /// </summary>
    public string Statement()
    {
        var table = DatabaseEvidence.Qualified(Table.Table);
        if (Whole)
        {
            return $"COPY {table} {Table.Columns} TO STDOUT;";
        }

        var range = ToBlock is { } to
            ? string.Create(CultureInfo.InvariantCulture, $"ctid >= '({FromBlock},0)'::tid AND ctid < '({to},0)'::tid")
            : string.Create(CultureInfo.InvariantCulture, $"ctid >= '({FromBlock},0)'::tid");
        return $"COPY (SELECT {Table.Columns[1..^1]} FROM ONLY {table} WHERE {range}) TO STDOUT;";
    }
}

/// <summary>
/// Fingerprints tables from the bytes of <c>COPY ... TO STDOUT</c> as psql writes them, with pg_dump's output settings.
/// Several psql sessions each take the next read as they finish one; each read's rows are followed by a marker line
/// <c>\.</c> (COPY text never starts a row with it: a backslash in a value is written <c>\\</c>), and a table read in
/// parts adds up its parts' fingerprints, which do not depend on the order of rows.
/// </summary>
internal static class CopyFingerprints
{
    /// <summary>pg_dump's output settings for COPY (plus UTC, which the backup gives pg_dump through PGTZ), for psql's session.</summary>
    public const string PgDumpOutputOptions = "-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 -c TimeZone=UTC -c bytea_output=hex";

    /// <summary>
    /// psql's standard output buffer: with stdio's 4 KiB, psql's writes and our reads of the 2.6 million rows of the
    /// 200000 fixture cost 1.6-2.2 CPU seconds in a drill, with 1 MiB 0.9-1.2.
    /// </summary>
    private const int StandardOutputBufferBytes = 1 << 20;

    /// <summary>Reads planned for each session (<see cref="Plan"/>): enough that the last ones to end are short.</summary>
    public const int ReadsPerSession = 8;

    /// <summary>The smallest part a table is split into: 16 MiB of 8 KiB blocks.</summary>
    public const long MinPartBlocks = 2048;

    /// <summary>psql sessions reading at the same time: one per core, at least 2, at most 8.</summary>
    public static int DefaultSessions => Math.Clamp(Environment.ProcessorCount, 2, 8);

    /// <summary>
    /// The reads for <paramref name="sessions"/> sessions, largest first. A table larger than about
    /// 1/(<see cref="ReadsPerSession"/> x sessions) of all the blocks is read in block ranges (a TID range scan, from
    /// PostgreSQL 14), so that one large table does not leave a single session reading it while the others idle.
    /// </summary>
    /// <param name="tables">Existing tables with their size in blocks now.</param>
    /// <param name="splitByBlocks">The server has TID range scans (PostgreSQL 14 or later).</param>
    /// <param name="minPartBlocks">The smallest part worth a read of its own.</param>
    public static IReadOnlyList<FingerprintRead> Plan(
        IReadOnlyList<(DumpedTable Table, long Blocks)> tables, int sessions, bool splitByBlocks, long minPartBlocks = MinPartBlocks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sessions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(minPartBlocks, 1);
        var part = Math.Max(minPartBlocks, tables.Sum(t => t.Blocks) / (sessions * ReadsPerSession));
        var reads = new List<(FingerprintRead Read, long Blocks)>();
        foreach (var (table, blocks) in tables)
        {
            // A table without a column list (no columns at all) is read whole: there is nothing to select.
            if (!splitByBlocks || blocks <= part || !table.Columns.StartsWith('('))
            {
                reads.Add((new FingerprintRead(table), blocks));
                continue;
            }

            var count = (blocks + part - 1) / part;
            var size = (blocks + count - 1) / count;
            for (long from = 0; from < blocks; from += size)
            {
                var last = from + size >= blocks;
                reads.Add((new FingerprintRead(table, from, last ? null : from + size), last ? blocks - from : size));
            }
        }

        return reads.OrderByDescending(r => r.Blocks).Select(r => r.Read).ToList();
    }

    /// <param name="connectionString">Where psql connects (its password, if any, passed through the environment).</param>
    /// <param name="serverMajor">The server's major version: psql of that major is used.</param>
    /// <param name="reads">Reads of existing tables (<see cref="Plan"/>); every part of a table must be among them.</param>
    /// <param name="sessions">psql sessions reading at the same time.</param>
    /// <param name="snapshot">An exported snapshot every session reads in (one transaction each), or null for a transaction per read.</param>
    /// <returns>The fingerprints by table name.</returns>
    public static async Task<IReadOnlyDictionary<string, DumpedTable>> ReadAsync(
        string connectionString, int serverMajor, IReadOnlyList<FingerprintRead> reads, int sessions, string? snapshot, CancellationToken cancellationToken)
    {
        var totals = new Dictionary<string, (DumpedTable Table, RowFingerprint Fingerprint)>(StringComparer.Ordinal);
        foreach (var read in reads)
        {
            totals.TryAdd(read.Table.Table, (read.Table, new RowFingerprint()));
        }

        if (reads.Count > 0)
        {
            var psql = PostgresInstallation.Locate(serverMajor).FindTool("psql");
            var environment = new Dictionary<string, string?>(PostgresToolEnvironment.From(connectionString))
            {
                ["PGCLIENTENCODING"] = "UTF8",
                ["PGOPTIONS"] = PgDumpOutputOptions,
                ["PGAPPNAME"] = "backupdr-fingerprints",
            };
            var processes = new List<RunningChildProcess>();
            try
            {
                for (var i = 0; i < Math.Min(sessions, reads.Count); i++)
                {
                    processes.Add(RunningChildProcess.Start(new ChildProcessRequest(psql, ["--no-psqlrc", "--quiet", "--no-password", "--set=ON_ERROR_STOP=1", "--file=-"])
                    {
                        Environment = environment,
                        InteractiveStandardInput = true,
                        BlockingStandardOutput = true,
                        StandardOutputBufferBytes = StandardOutputBufferBytes,
                    }));
                }

                // Each session is fed and read on a thread of its own with blocking reads: through the thread pool, a
                // drill's filestore restore running beside this kept the rows waiting in psql's pipe (and the server's
                // COPY idle) for seconds at a time. Cancellation kills psql, which ends the pipes and the reads.
                var next = new StrongBox<int>(-1);
                int[] done;
                using (cancellationToken.Register(() => processes.ForEach(p => p.Kill())))
                {
                    done = await Task.WhenAll(processes.Select(process => Task.Factory.StartNew(
                        () => Session(process, reads, next, snapshot, totals), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
                }

                cancellationToken.ThrowIfCancellationRequested();
                foreach (var process in processes)
                {
                    await process.WaitForSuccessAsync(cancellationToken);
                }

                if (done.Sum() != reads.Count)
                {
                    throw new InvalidDataException($"psql ended after {done.Sum()} of {reads.Count} COPY reads");
                }
            }
            finally
            {
                foreach (var process in processes)
                {
                    await process.DisposeAsync();
                }
            }
        }

        return totals.ToDictionary(t => t.Key, t => t.Value.Table with { Rows = t.Value.Fingerprint.Rows, Fingerprint = t.Value.Fingerprint.Value }, StringComparer.Ordinal);
    }

    /// <summary>
    /// One psql session: takes the next read, writes its COPY and the marker, fingerprints the rows up to the marker, and
    /// adds them to the table's total; then ends its transaction and input. Returns how many reads it completed; fewer
    /// than it took when psql ended early (its exit code and error say why).
    /// </summary>
    private static int Session(
        RunningChildProcess process, IReadOnlyList<FingerprintRead> reads, StrongBox<int> next, string? snapshot,
        Dictionary<string, (DumpedTable Table, RowFingerprint Fingerprint)> totals)
    {
        var input = process.StandardInput;
        var output = process.StandardOutput;
        var buffer = new byte[1 << 16];
        var completed = 0;
        try
        {
            if (snapshot is not null)
            {
                input.Write($"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSET TRANSACTION SNAPSHOT '{snapshot}';\n");
            }

            int index;
            while ((index = Interlocked.Increment(ref next.Value)) < reads.Count)
            {
                var read = reads[index];
                input.Write(read.Statement() + "\n\\echo '\\\\.'\n");
                input.Flush();
                var fingerprint = new RowFingerprint();
                while (!fingerprint.Ended)
                {
                    var count = output.Read(buffer);
                    if (count == 0)
                    {
                        return completed;
                    }

                    // Nothing follows the marker: the next COPY is written only once this one has been read.
                    if (fingerprint.AppendUntilTerminator(buffer.AsSpan(0, count)) != count)
                    {
                        throw new InvalidDataException("psql wrote more COPY output than the read it was asked for");
                    }
                }

                var total = totals[read.Table.Table].Fingerprint;
                lock (total)
                {
                    total.Add(fingerprint);
                }

                completed++;
            }

            if (snapshot is not null)
            {
                input.Write("COMMIT;\n");
            }

            input.Close();
        }
        catch (IOException)
        {
            // psql ended (an error, or cancellation killed it) while we wrote to it: its exit code and stderr say why.
            return completed;
        }

        return output.Read(buffer) == 0 ? completed : throw new InvalidDataException("psql wrote output after its last COPY");
    }
}
