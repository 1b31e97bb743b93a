using System.Security.Cryptography;
using BackupDr.OdooDemo;
using BackupDr.TestSupport;
using Npgsql;

namespace BackupDr.IntegrationTests.Demo;

public sealed class DemoDatabaseTests(PostgresFixture postgres) : IDisposable
{
    private const int Scale = 400;
    private readonly string _work = Directory.CreateTempSubdirectory("backupdr-demo-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task GenerateAsync_PostedMoves_AreAllBalanced()
    {
        var (db, _) = await GenerateAsync("a", DemoDatabase.DefaultSeed);

        (await ScalarAsync<long>(db, "SELECT count(*) FROM account_move WHERE state = 'posted'")).ShouldBeGreaterThan(Scale / 2);
        (await ScalarAsync<long>(db, """
            SELECT count(*) FROM (SELECT l.move_id FROM account_move_line l JOIN account_move m ON m.id = l.move_id
            WHERE m.state = 'posted' GROUP BY l.move_id HAVING sum(l.debit) <> sum(l.credit)) u
            """)).ShouldBe(0);
        (await ScalarAsync<long>(db, "SELECT count(*) FROM account_move m WHERE NOT EXISTS (SELECT 1 FROM account_move_line l WHERE l.move_id = m.id)")).ShouldBe(0);
    }

    [Fact]
    public async Task GenerateAsync_Filestore_MatchesAttachmentsExactly()
    {
        var (db, filestore) = await GenerateAsync("a", DemoDatabase.DefaultSeed);
        var rows = new List<(string StoreFname, string Checksum, int Size)>();
        await using (var connection = await OpenAsync(db))
        await using (var command = new NpgsqlCommand("SELECT store_fname, checksum, file_size FROM ir_attachment WHERE store_fname IS NOT NULL", connection))
        await using (var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken))
        {
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
            }
        }

        rows.Count.ShouldBeGreaterThan(DemoFilestore.FileCount(Scale));
        rows.Select(r => r.Checksum).Distinct().Count().ShouldBeLessThan(rows.Count, "some attachments share a stored file");
        foreach (var (storeFname, checksum, size) in rows)
        {
            storeFname.ShouldBe($"{checksum[..2]}/{checksum}");
            var path = Path.Combine(filestore, storeFname);
            File.Exists(path).ShouldBeTrue(path);
            var content = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
            content.Length.ShouldBe(size);
#pragma warning disable CA5350 // Odoo's filestore is addressed by SHA-1: checking the format, not securing anything.
            Convert.ToHexStringLower(SHA1.HashData(content)).ShouldBe(checksum);
#pragma warning restore CA5350
        }

        // No file without an attachment, no attachment without its file.
        ListFiles(filestore).ShouldBe(rows.Select(r => r.StoreFname).Distinct().Order(StringComparer.Ordinal).ToList());
        (await ScalarAsync<long>(db, "SELECT count(*) FROM ir_attachment WHERE db_datas IS NOT NULL AND store_fname IS NULL AND checksum IS NOT NULL")).ShouldBeGreaterThan(0);
        (await ScalarAsync<long>(db, "SELECT count(*) FROM ir_attachment WHERE type = 'url' AND url IS NOT NULL")).ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task GenerateAsync_SameScaleAndSeed_GivesIdenticalRowsAndFiles()
    {
        var (first, firstFiles) = await GenerateAsync("a", DemoDatabase.DefaultSeed);
        var (second, secondFiles) = await GenerateAsync("b", DemoDatabase.DefaultSeed);

        var a = await FingerprintsAsync(first);
        var b = await FingerprintsAsync(second);

        b.ShouldBe(a);
        ListFiles(secondFiles).ShouldBe(ListFiles(firstFiles));
    }

    [Fact]
    public async Task GenerateAsync_DifferentSeed_ChangesContent()
    {
        var (first, firstFiles) = await GenerateAsync("a", DemoDatabase.DefaultSeed);
        var (second, secondFiles) = await GenerateAsync("b", 7);

        var a = await FingerprintsAsync(first);
        var b = await FingerprintsAsync(second);

        b["account_move_line"].ShouldNotBe(a["account_move_line"]);
        b["res_partner"].ShouldNotBe(a["res_partner"]);
        b["ir_config_parameter"].ShouldNotBe(a["ir_config_parameter"]);
        ListFiles(secondFiles).ShouldNotBe(ListFiles(firstFiles));
    }

    [Fact]
    public async Task GenerateAsync_Schema_HasOdooTablesAndColumns()
    {
        var (db, _) = await GenerateAsync("a", DemoDatabase.DefaultSeed);
        string[] expected =
        [
            "res_company.name", "res_partner.commercial_partner_id", "res_users.login", "account_account.account_type",
            "account_journal.type", "account_move.state", "account_move.move_type", "account_move.amount_total",
            "account_move_line.debit", "account_move_line.credit", "account_move_line.parent_state", "ir_attachment.store_fname",
            "ir_attachment.checksum", "ir_attachment.file_size", "ir_attachment.db_datas", "ir_attachment.res_model",
            "ir_cron.active", "ir_cron.cron_name", "ir_model_data.module", "ir_model_data.res_id", "ir_mail_server.smtp_host",
            "ir_mail_server.active", "fetchmail_server.active", "payment_provider.state", "delivery_carrier.prod_environment",
            "ir_config_parameter.key", "ir_module_module.latest_version",
        ];
        var columns = new HashSet<string>(StringComparer.Ordinal);
        await using (var connection = await OpenAsync(db))
        await using (var command = new NpgsqlCommand(
            "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public'", connection))
        await using (var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken))
        {
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                columns.Add(reader.GetString(0));
            }
        }

        expected.Where(c => !columns.Contains(c)).ShouldBeEmpty();
        foreach (var table in DemoSchema.Tables)
        {
            columns.ShouldContain($"{table}.write_date");
            columns.ShouldContain($"{table}.create_uid");
        }

        (await ScalarAsync<long>(db, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")).ShouldBeGreaterThan(10);
    }

    [Fact]
    public async Task GenerateAsync_Settings_HaveWhatNeutralizationMustChange()
    {
        var (db, _) = await GenerateAsync("a", DemoDatabase.DefaultSeed);

        (await ScalarAsync<string>(db, """
            SELECT c.cron_name FROM ir_model_data d JOIN ir_cron c ON c.id = d.res_id
            WHERE d.module = 'base' AND d.name = 'autovacuum_job' AND d.model = 'ir.cron'
            """)).ShouldBe("Base: Auto-vacuum internal data");
        (await ScalarAsync<long>(db, "SELECT count(*) FROM ir_cron WHERE active")).ShouldBeGreaterThan(5);
        (await ScalarAsync<long>(db, "SELECT count(*) FROM ir_mail_server WHERE active AND smtp_host <> 'invalid'")).ShouldBe(2);
        (await ScalarAsync<long>(db, "SELECT count(*) FROM fetchmail_server WHERE active")).ShouldBe(2);
        (await ScalarAsync<long>(db, "SELECT count(*) FROM payment_provider WHERE state = 'enabled'")).ShouldBe(3);
        (await ScalarAsync<long>(db, "SELECT count(*) FROM delivery_carrier WHERE prod_environment AND active")).ShouldBe(2);
        (await ScalarAsync<long>(db, "SELECT count(*) FROM ir_config_parameter WHERE key IN ('database.uuid', 'database.secret', 'database.enterprise_code', 'web.base.url', 'report.url')")).ShouldBe(5);
        (await ScalarAsync<string>(db, "SELECT latest_version FROM ir_module_module WHERE name = 'base' AND state = 'installed'")).ShouldBe("17.0.1.3");
    }

    [Fact]
    public async Task GenerateAsync_DatabaseAlreadyGenerated_RefusesUnlessReplacing()
    {
        var (db, filestore) = await GenerateAsync("a", DemoDatabase.DefaultSeed);
        var ct = TestContext.Current.CancellationToken;

        await Should.ThrowAsync<DemoDatabaseNotEmptyException>(() =>
            DemoDatabase.GenerateAsync(db.ConnectionString, Path.Combine(_work, "other"), Scale, DemoDatabase.DefaultSeed, ct));
        var summary = await DemoDatabase.GenerateAsync(db.ConnectionString, filestore, Scale, DemoDatabase.DefaultSeed, ct, replace: true);

        summary.RowCounts["account_move"].ShouldBe(Scale);
    }

    private async Task<(TestDatabase Database, string Filestore)> GenerateAsync(string name, long seed)
    {
        var db = await postgres.CreateDatabaseAsync(TestContext.Current.CancellationToken);
        var filestore = Path.Combine(_work, name);
        var summary = await DemoDatabase.GenerateAsync(db.ConnectionString, filestore, Scale, seed, TestContext.Current.CancellationToken);
        summary.RowCounts["account_move"].ShouldBe(Scale);
        summary.FilestoreFiles.ShouldBe(ListFiles(filestore).Count);
        return (db, filestore);
    }

    /// <summary>md5 of every row of every table in id order: equal fingerprints mean equal contents.</summary>
    private static async Task<Dictionary<string, string>> FingerprintsAsync(TestDatabase db)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var table in DemoSchema.Tables)
        {
            result[table] = await ScalarAsync<string>(db, $"SELECT md5(string_agg(t::text, E'\\n' ORDER BY t.id)) FROM {table} t");
        }

        return result;
    }

    private static List<string> ListFiles(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static async Task<NpgsqlConnection> OpenAsync(TestDatabase db)
    {
        var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        return connection;
    }

    private static async Task<T> ScalarAsync<T>(TestDatabase db, string sql)
    {
        await using var connection = await OpenAsync(db);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }
}
