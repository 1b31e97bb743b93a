using BackupDr.OdooDemo;
using BackupDr.Repository.Postgres;
using BackupDr.TestSupport;
using Npgsql;

namespace BackupDr.IntegrationTests.Postgres;

/// <summary>The dump-stream reader against real pg_dump 15 archives of the demo database.</summary>
public sealed class DumpArchiveReaderTests(PostgresFixture postgres) : IAsyncLifetime
{
    private TestDatabase _database = null!;
    private string _folder = null!;

    public async ValueTask InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync(TestContext.Current.CancellationToken);
        _folder = Directory.CreateTempSubdirectory("backupdr-dump-").FullName;
        await DemoDatabase.GenerateAsync(_database.ConnectionString, Path.Combine(_folder, "filestore"), 200, DemoDatabase.DefaultSeed, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await postgres.DropDatabaseAsync(_database.Name, CancellationToken.None);
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<byte[]> DumpAsync(params string[] extra)
    {
        var pgDump = PostgresInstallation.Locate(PostgresFixture.Major).FindTool("pg_dump");
        await using var dump = RunningChildProcess.Start(new ChildProcessRequest(pgDump, ["--format=custom", "--no-password", .. extra])
        {
            Environment = PostgresToolEnvironment.From(_database.ConnectionString),
        });
        using var buffer = new MemoryStream();
        await dump.StandardOutput.CopyToAsync(buffer, TestContext.Current.CancellationToken);
        await dump.WaitForSuccessAsync(TestContext.Current.CancellationToken);
        return buffer.ToArray();
    }

    [Fact]
    public async Task ReadAsync_UncompressedDump_FingerprintsEqualCopyOfTheDatabase()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var archive = await DumpAsync("--compress=0");

        var tables = await DumpArchiveReader.ReadAsync(new MemoryStream(archive), cancellationToken);

        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        var restored = await DatabaseEvidence.ReadRestoredAsync(connection, _database.ConnectionString, tables, cancellationToken);
        tables.Select(t => t.Table).ShouldContain("public.account_move_line");
        tables.Single(t => t.Table == "public.account_move").Rows.ShouldBe(200);
        tables.Single(t => t.Table == "public.account_move").Columns.ShouldStartWith("(id, ");
        restored.Tables.ShouldBe(tables);
    }

    [Fact]
    public async Task WriteDataOffsets_DumpWrittenToAPipe_BecomesTheArchivePgDumpWritesToAFile()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        // pg_dump numbers objects and lists dependencies in the order its catalog queries return them; an
        // autovacuum ANALYZE between the two dumps can change those plans, so settle the statistics first.
        await using (var connection = new NpgsqlConnection(_database.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var analyze = new NpgsqlCommand("VACUUM (ANALYZE)", connection);
            await analyze.ExecuteNonQueryAsync(cancellationToken);
        }

        var piped = Path.Combine(_folder, "piped.dump");
        await File.WriteAllBytesAsync(piped, await DumpAsync("--compress=0"), cancellationToken);
        var seekable = Path.Combine(_folder, "seekable.dump");
        await DumpAsync("--compress=0", "--file=" + seekable);
        var before = await File.ReadAllBytesAsync(piped, cancellationToken);

        var offsets = await DumpArchiveReader.ReadDataOffsetsAsync(new MemoryStream(before), cancellationToken);
        var patched = await DumpArchiveReader.WriteDataOffsetsAsync(piped, offsets, cancellationToken);

        offsets.Unset.Count.ShouldBeGreaterThan(10);
        patched.ShouldBe(offsets.Unset.Count);
        await using (var reread = File.OpenRead(piped))
        {
            (await DumpArchiveReader.ReadDataOffsetsAsync(reread, cancellationToken)).Unset.ShouldBeEmpty();
        }

        var after = await File.ReadAllBytesAsync(piped, cancellationToken);
        var expected = await File.ReadAllBytesAsync(seekable, cancellationToken);
        after.Length.ShouldBe(expected.Length);

        // Only the header's creation time (seven integers after the first 16 bytes) may differ from pg_dump's own file.
        Enumerable.Range(0, after.Length).Where(i => after[i] != expected[i]).ShouldAllBe(i => i >= 16 && i < 16 + 7 * 5);
        Enumerable.Range(0, before.Length).Count(i => before[i] != after[i]).ShouldBeGreaterThan(offsets.Unset.Count);
    }

    [Fact]
    public async Task ReadAsync_TablesReadInBlockRangesBySeveralSessions_FingerprintsEqualTheDumps()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var tables = await DumpArchiveReader.ReadAsync(new MemoryStream(await DumpAsync("--compress=0")), cancellationToken);
        var sized = new List<(DumpedTable, long)>();
        await using (var connection = new NpgsqlConnection(_database.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            foreach (var table in tables)
            {
                await using var size = new NpgsqlCommand("SELECT pg_relation_size(@name::regclass) / 8192", connection);
                size.Parameters.AddWithValue("name", DatabaseEvidence.Qualified(table.Table));
                sized.Add((table, (long)(await size.ExecuteScalarAsync(cancellationToken))!));
            }
        }

        var reads = CopyFingerprints.Plan(sized, sessions: 3, splitByBlocks: true, minPartBlocks: 1);
        var read = await CopyFingerprints.ReadAsync(_database.ConnectionString, PostgresFixture.Major, reads, sessions: 3, snapshot: null, cancellationToken);

        reads.Count(r => !r.Whole).ShouldBeGreaterThan(3);
        tables.Select(t => read[t.Table]).ShouldBe(tables);
    }

    [Fact]
    public async Task FingerprintTables_Cancelled_Throws()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var tables = await DumpArchiveReader.ReadAsync(new MemoryStream(await DumpAsync("--compress=0")), cancellationToken);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(
            () => CopyFingerprints.ReadAsync(_database.ConnectionString, PostgresFixture.Major, tables.Select(t => new FingerprintRead(t)).ToList(), sessions: 2, snapshot: null, cancelled.Token));
    }

    [Fact]
    public async Task ReadAsync_DumpReadInTinyPieces_GivesTheSameTables()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var archive = await DumpAsync("--compress=0");

        var whole = await DumpArchiveReader.ReadAsync(new MemoryStream(archive), cancellationToken);
        var trickled = await DumpArchiveReader.ReadAsync(new TrickleStream(archive, 7), cancellationToken);

        trickled.ShouldBe(whole);
        var offsets = await DumpArchiveReader.ReadDataOffsetsAsync(new MemoryStream(archive), cancellationToken);
        var trickledOffsets = await DumpArchiveReader.ReadDataOffsetsAsync(new TrickleStream(archive, 7), cancellationToken);
        trickledOffsets.Unset.ShouldBe(offsets.Unset);
        trickledOffsets.Blocks.OrderBy(b => b.Key).ShouldBe(offsets.Blocks.OrderBy(b => b.Key));
        offsets.Blocks.Count.ShouldBe(offsets.Unset.Count);
    }

    [Fact]
    public async Task ReadAsync_CompressedDump_IsRefused()
    {
        var archive = await DumpAsync();

        var error = await Should.ThrowAsync<DumpArchiveFormatException>(() => DumpArchiveReader.ReadAsync(new MemoryStream(archive), TestContext.Current.CancellationToken));

        error.Message.ShouldContain("--compress=0");
    }

    [Fact]
    public async Task ReadAsync_TruncatedDump_IsRefused()
    {
        var archive = await DumpAsync("--compress=0");

        await Should.ThrowAsync<DumpArchiveFormatException>(() =>
            DumpArchiveReader.ReadAsync(new MemoryStream(archive, 0, archive.Length - 3), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ReadAsync_NotAnArchive_IsRefused() =>
        (await Should.ThrowAsync<DumpArchiveFormatException>(() =>
            DumpArchiveReader.ReadAsync(new MemoryStream("-- PostgreSQL database dump\n"u8.ToArray()), TestContext.Current.CancellationToken)))
            .Message.ShouldContain("PGDMP");

    /// <summary>Returns at most a few bytes per read, like a slow pipe.</summary>
    private sealed class TrickleStream(byte[] data, int piece) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(piece, buffer.Length)], cancellationToken);
    }
}
