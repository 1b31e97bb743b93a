using Npgsql;

namespace BackupDr.DrillRunner.Neutralization;

/// <summary>
/// Which Odoo tables and columns a restored database has (public schema): neutralization and probes touch only what
/// exists, as Odoo applies only the scripts of installed modules.
/// </summary>
internal sealed class OdooSchema
{
    /// <summary>The ids of the scheduled action Odoo keeps on in a neutralized copy (<c>base.autovacuum_job</c>).</summary>
    public const string AutovacuumCronIds =
        "SELECT res_id FROM ir_model_data WHERE model = 'ir.cron' AND name = 'autovacuum_job' AND module = 'base' AND res_id IS NOT NULL";

    private readonly HashSet<string> _columns;

    private OdooSchema(HashSet<string> columns) => _columns = columns;

    /// <summary>True for <c>table</c> or <c>table.column</c> that exists.</summary>
    public bool Has(string tableOrColumn) => _columns.Contains(tableOrColumn);

    public static async Task<OdooSchema> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
            """;
        var columns = new HashSet<string>(StringComparer.Ordinal);
        await using var command = new NpgsqlCommand(Sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            columns.Add(reader.GetString(0));
            columns.Add(reader.GetString(0) + "." + reader.GetString(1));
        }

        return new OdooSchema(columns);
    }
}
