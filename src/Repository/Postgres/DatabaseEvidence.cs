using System.Globalization;
using Npgsql;

namespace BackupDr.Repository.Postgres;

/// <summary>Row count and an order-independent content fingerprint of one table.</summary>
/// <param name="Table">The table name (public schema).</param>
/// <param name="Rows">Row count.</param>
/// <param name="Fingerprint">Two 64-bit sums of the rows' MD5s, as hex: equal contents give equal values in any row order.</param>
internal sealed record TableFingerprint(string Table, long Rows, string Fingerprint);

/// <summary>Sum of debit and credit of posted journal items of one company (exact decimals as invariant strings).</summary>
internal sealed record LedgerTotal(long CompanyId, string Debit, string Credit, long Lines);

/// <summary>An installed Odoo module and its version.</summary>
internal sealed record InstalledModule(string Name, string? Version);

/// <summary>What a database looked like at one snapshot: the facts a restore must reproduce.</summary>
internal sealed record DatabaseEvidenceRecord(
    string? OdooVersion,
    IReadOnlyList<InstalledModule> Modules,
    IReadOnlyList<TableFingerprint> Tables,
    IReadOnlyList<LedgerTotal> Ledger);

/// <summary>
/// The queries that describe an Odoo database: shared by the backup (run inside the exported snapshot, so they
/// describe exactly what the dump holds) and by restore checks and drill probes (run on the restored copy).
/// Tables that do not exist are skipped, so a non-Odoo database yields empty evidence rather than an error.
/// </summary>
internal static class DatabaseEvidence
{
    /// <summary>The business tables whose content must survive a restore unchanged.</summary>
    public static readonly IReadOnlyList<string> KeyTables = ["account_move", "account_move_line", "res_partner", "ir_attachment"];

    public static async Task<DatabaseEvidenceRecord> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var (odooVersion, modules) = await ReadModulesAsync(connection, cancellationToken);
        var tables = new List<TableFingerprint>();
        foreach (var table in KeyTables)
        {
            if (await TableExistsAsync(connection, table, cancellationToken))
            {
                tables.Add(await FingerprintAsync(connection, table, cancellationToken));
            }
        }

        var ledger = await TableExistsAsync(connection, "account_move_line", cancellationToken)
            && await TableExistsAsync(connection, "account_move", cancellationToken)
                ? await ReadLedgerAsync(connection, cancellationToken)
                : [];
        return new DatabaseEvidenceRecord(odooVersion, modules, tables, ledger);
    }

    /// <summary>
    /// Count plus two 64-bit sums of the first and second halves of each row's MD5 (over its text form). The sums
    /// are numeric (no overflow) and independent of row order, so the physical layout of a restore does not matter.
    /// </summary>
    public static async Task<TableFingerprint> FingerprintAsync(NpgsqlConnection connection, string table, CancellationToken cancellationToken)
    {
        var sql = $"""
            SELECT count(*),
                   coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text,
                   coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text
            FROM (SELECT md5(t::text) AS h FROM public.{QuoteIdentifier(table)} t) rows
            """;
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var rows = reader.GetInt64(0);
        return new TableFingerprint(table, rows, $"{reader.GetString(1)}:{reader.GetString(2)}");
    }

    private static async Task<IReadOnlyList<LedgerTotal>> ReadLedgerAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT coalesce(l.company_id, 0), coalesce(sum(l.debit), 0), coalesce(sum(l.credit), 0), count(*)
            FROM public.account_move_line l JOIN public.account_move m ON m.id = l.move_id
            WHERE m.state = 'posted'
            GROUP BY 1 ORDER BY 1
            """;
        await using var command = new NpgsqlCommand(Sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var totals = new List<LedgerTotal>();
        while (await reader.ReadAsync(cancellationToken))
        {
            totals.Add(new LedgerTotal(
                Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture),
                reader.GetDecimal(1).ToString(CultureInfo.InvariantCulture),
                reader.GetDecimal(2).ToString(CultureInfo.InvariantCulture),
                reader.GetInt64(3)));
        }

        return totals;
    }

    private static async Task<(string? Version, IReadOnlyList<InstalledModule> Modules)> ReadModulesAsync(
        NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (!await TableExistsAsync(connection, "ir_module_module", cancellationToken))
        {
            return (null, []);
        }

        await using var command = new NpgsqlCommand(
            "SELECT name, latest_version FROM public.ir_module_module WHERE state = 'installed' ORDER BY name", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var modules = new List<InstalledModule>();
        while (await reader.ReadAsync(cancellationToken))
        {
            modules.Add(new InstalledModule(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
        }

        return (modules.FirstOrDefault(m => m.Name == "base")?.Version, modules);
    }

    private static async Task<bool> TableExistsAsync(NpgsqlConnection connection, string table, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT to_regclass(@name) IS NOT NULL", connection);
        command.Parameters.AddWithValue("name", "public." + QuoteIdentifier(table));
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
