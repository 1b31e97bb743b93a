using System.Text.Json;
using BackupDr.Repository.Crypto;
using BackupDr.Repository.Integrity;
using BackupDr.Repository.Postgres;
using BackupDr.Repository.Storage;

namespace BackupDr.Repository.Backups;

/// <summary>
/// The evidence object of a backup (<c>evidence.json</c>, encrypted like every object): Odoo version, installed
/// modules, row counts and content fingerprints of the key tables, and posted ledger totals per company, all read
/// inside the dump's snapshot. A restore is proven whole when the restored database yields the same evidence.
/// </summary>
internal static class BackupEvidence
{
    public const string ObjectName = "evidence.json";

    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static byte[] Serialize(DatabaseEvidenceRecord evidence) => JsonSerializer.SerializeToUtf8Bytes(evidence, Options);

    public static async Task<DatabaseEvidenceRecord> ReadAsync(IObjectStore store, BackupManifest manifest, DataKey dataKey, CancellationToken cancellationToken)
    {
        var entry = manifest.Object(ObjectName);
        await using var stream = await BackupObjects.OpenReadAsync(store, entry, dataKey, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        try
        {
            return JsonSerializer.Deserialize<DatabaseEvidenceRecord>(buffer.ToArray(), Options)
                ?? throw new CorruptObjectException(entry.Key, "it holds no evidence");
        }
        catch (JsonException e)
        {
            throw new CorruptObjectException(entry.Key, $"its evidence is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Every difference between what the backup recorded and what a restored database shows.</summary>
    public static IReadOnlyList<string> Compare(DatabaseEvidenceRecord expected, DatabaseEvidenceRecord actual) =>
        [.. CompareContent(expected, actual), .. CompareLedger(expected.Ledger, actual.Ledger)];

    /// <summary>Odoo version, installed modules, and every table's row count and content fingerprint.</summary>
    public static IReadOnlyList<string> CompareContent(DatabaseEvidenceRecord expected, DatabaseEvidenceRecord actual)
    {
        var differences = new List<string>();
        if (expected.OdooVersion != actual.OdooVersion)
        {
            differences.Add($"Odoo version {actual.OdooVersion ?? "none"}, expected {expected.OdooVersion ?? "none"}");
        }

        var modules = expected.Modules.Select(m => $"{m.Name} {m.Version}").Except(actual.Modules.Select(m => $"{m.Name} {m.Version}")).ToList();
        if (modules.Count > 0 || expected.Modules.Count != actual.Modules.Count)
        {
            differences.Add($"installed modules differ ({actual.Modules.Count} restored, {expected.Modules.Count} expected; missing: {string.Join(", ", modules.Take(10))})");
        }

        foreach (var table in expected.Tables)
        {
            var restored = actual.Tables.FirstOrDefault(t => t.Table == table.Table);
            if (restored is null || restored.Rows < 0)
            {
                differences.Add($"table {table.Table} is missing");
            }
            else if (restored.Rows != table.Rows)
            {
                differences.Add($"table {table.Table} has {restored.Rows} rows, expected {table.Rows}");
            }
            else if (restored.Fingerprint != table.Fingerprint)
            {
                differences.Add($"table {table.Table} has the same row count but different content");
            }
        }

        return differences;
    }

    /// <summary>Posted debit and credit totals and line counts per company.</summary>
    public static IReadOnlyList<string> CompareLedger(IReadOnlyList<LedgerTotal> expected, IReadOnlyList<LedgerTotal> actual)
    {
        var differences = new List<string>();
        foreach (var total in expected)
        {
            var restored = actual.FirstOrDefault(l => l.CompanyId == total.CompanyId);
            if (restored != total)
            {
                differences.Add(restored is null
                    ? $"company {total.CompanyId} has no posted journal items, expected {total.Lines}"
                    : $"company {total.CompanyId} ledger debit {restored.Debit} / credit {restored.Credit} ({restored.Lines} lines), expected {total.Debit} / {total.Credit} ({total.Lines} lines)");
            }
        }

        foreach (var extra in actual.Where(a => expected.All(e => e.CompanyId != a.CompanyId)))
        {
            differences.Add($"company {extra.CompanyId} has {extra.Lines} posted journal items the backup did not have");
        }

        return differences;
    }
}
