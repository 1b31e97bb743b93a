using System.Globalization;
using Npgsql;

namespace BackupDr.DrillRunner.Probes;

/// <summary>
/// The newest <c>write_date</c> among the key business tables is at or before the recovery point (a copy holding
/// later writes is not the backup it claims to be) and, when the target sets <c>Drill:RecencyWindow</c>, not further
/// before it than that (a source that stopped changing may be the wrong database, or a frozen one). Odoo writes
/// <c>write_date</c> in UTC with the database clock, the same clock as the recovery point.
/// </summary>
internal sealed class RecencyProbe : IProbe
{
    /// <summary>The tables an active Odoo writes to; those that exist with a write_date column are read.</summary>
    internal static readonly string[] KeyTables =
    [
        "account_move", "account_move_line", "account_payment", "res_partner", "ir_attachment", "sale_order", "purchase_order",
        "stock_move", "stock_picking", "mail_message", "project_task", "hr_employee",
    ];

    public string Name => "recency";

    public bool Critical => false;

    public async Task<ProbeResult> RunAsync(ProbeContext context, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(context.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        var tables = new List<string>();
        await using (var command = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'write_date' AND table_name = ANY(@tables) ORDER BY 1",
            connection))
        {
            command.Parameters.AddWithValue("tables", KeyTables);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }

        if (tables.Count == 0)
        {
            return ProbeResult.Skip("no key table with a write_date column");
        }

        var sql = "SELECT max(w) FROM (" + string.Join(" UNION ALL ", tables.Select(t => $"SELECT max(write_date) AS w FROM public.\"{t}\"")) + ") x";
        DateTime? newest;
        await using (var command = new NpgsqlCommand(sql, connection))
        {
            var value = await command.ExecuteScalarAsync(cancellationToken);
            newest = value is DateTime d ? DateTime.SpecifyKind(d, DateTimeKind.Utc) : null;
        }

        if (newest is null)
        {
            return ProbeResult.Fail($"no row of {string.Join(", ", tables)} has a write_date: nothing shows when this data was last changed");
        }

        var recoveryPoint = context.Manifest.RecoveryPoint.UtcDateTime;
        var lag = recoveryPoint - newest.Value;
        var facts = string.Create(CultureInfo.InvariantCulture,
            $"newest write {newest:yyyy-MM-dd HH:mm:ss}Z in {tables.Count} key tables, recovery point {recoveryPoint:yyyy-MM-dd HH:mm:ss}Z");
        if (lag < TimeSpan.Zero)
        {
            return ProbeResult.Fail($"{facts}: data written {Format(-lag)} after the recovery point; this copy is not the backup it claims to be");
        }

        var window = context.Target.Drill.RecencyWindow;
        if (window is null)
        {
            return ProbeResult.Pass($"{facts} ({Format(lag)} before it; no Drill:RecencyWindow set, so the gap is not judged)");
        }

        return lag <= window
            ? ProbeResult.Pass($"{facts} ({Format(lag)} before it, within {window.Value:c})")
            : ProbeResult.Fail($"{facts}: the newest write is {Format(lag)} before the recovery point, more than Drill:RecencyWindow {window.Value:c}");
    }

    private static string Format(TimeSpan span) => span.TotalDays >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalDays:F1} days")
        : span.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
}
