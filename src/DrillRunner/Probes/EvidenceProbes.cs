using System.Globalization;
using BackupDr.Repository.Backups;
using BackupDr.Repository.Postgres;
using Npgsql;

namespace BackupDr.DrillRunner.Probes;

/// <summary>
/// Every table's row count and content fingerprint (COPY rows, hashed as the backup hashed its dump stream), the Odoo
/// version and the installed modules equal what the backup recorded. The settings tables neutralization changes on
/// purpose are compared as they were restored (fingerprinted by the neutralizer just before its changes); every other
/// table is read now, so a change made to the copy after the restore is found.
/// </summary>
internal sealed class FingerprintsProbe : IProbe
{
    public string Name => "fingerprints";

    public bool Critical => true;

    public async Task<ProbeResult> RunAsync(ProbeContext context, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(context.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        var baseline = context.NeutralizationBaseline.ToDictionary(t => t.Table, StringComparer.Ordinal);
        var live = await DatabaseEvidence.ReadRestoredAsync(connection, context.Evidence.Tables.Where(t => !baseline.ContainsKey(t.Table)).ToList(), cancellationToken);
        var restored = live with { Tables = [.. live.Tables, .. baseline.Values] };
        var differences = BackupEvidence.CompareContent(context.Evidence, restored);
        var rows = context.Evidence.Tables.Sum(t => t.Rows);
        return differences.Count == 0
            ? ProbeResult.Pass(string.Create(CultureInfo.InvariantCulture,
                $"{context.Evidence.Tables.Count} tables ({baseline.Count} as restored, before neutralization), {rows:N0} rows: counts and content fingerprints equal the backup's; Odoo {restored.OdooVersion ?? "none"}, {restored.Modules.Count} modules"))
            : ProbeResult.Fail(Summarize(differences));
    }

    internal static string Summarize(IReadOnlyList<string> problems) =>
        string.Join("; ", problems.Take(10)) + (problems.Count > 10 ? $"; and {problems.Count - 10} more" : "");
}

/// <summary>Every posted journal entry balances, and each company's posted debit and credit totals equal the backup's.</summary>
internal sealed class LedgerProbe : IProbe
{
    public string Name => "ledger";

    public bool Critical => true;

    public async Task<ProbeResult> RunAsync(ProbeContext context, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(context.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('public.account_move') IS NOT NULL AND to_regclass('public.account_move_line') IS NOT NULL", connection))
        {
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                return context.Evidence.Ledger.Count == 0
                    ? ProbeResult.Skip("no accounting tables (account_move, account_move_line) in this database or its backup")
                    : ProbeResult.Fail("the backup recorded posted journal items, but the restored copy has no accounting tables");
            }
        }

        const string Unbalanced = """
            SELECT m.id, coalesce(m.name, ''), sum(l.debit) - sum(l.credit), count(*) OVER ()
            FROM public.account_move m JOIN public.account_move_line l ON l.move_id = m.id
            WHERE m.state = 'posted'
            GROUP BY m.id, m.name
            HAVING sum(l.debit) <> sum(l.credit)
            ORDER BY m.id
            LIMIT 5
            """;
        var problems = new List<string>();
        await using (var command = new NpgsqlCommand(Unbalanced, connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (problems.Count == 0)
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture, $"{reader.GetInt64(3)} posted journal entries do not balance"));
                }

                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"entry {reader.GetInt32(0)} '{reader.GetString(1)}' is off by {reader.GetDecimal(2)}"));
            }
        }

        var facts = await DatabaseEvidence.ReadFactsAsync(connection, cancellationToken);
        problems.AddRange(BackupEvidence.CompareLedger(context.Evidence.Ledger, facts.Ledger));
        return problems.Count == 0
            ? ProbeResult.Pass(string.Create(CultureInfo.InvariantCulture,
                $"every posted entry balances; {facts.Ledger.Sum(l => l.Lines):N0} posted items in {facts.Ledger.Count} companies, totals equal the backup's"))
            : ProbeResult.Fail(FingerprintsProbe.Summarize(problems));
    }
}
