using BackupDr.DrillRunner.Neutralization;
using Npgsql;

namespace BackupDr.DrillRunner.Probes;

/// <summary>
/// Proves the copy is neutralized, whatever the script did: no active outgoing mail server that can reach a real host
/// (only Odoo's dummy on host <c>invalid</c>), no active incoming mail server, no active scheduled action but the
/// autovacuum, no live payment provider, no carrier in production mode, <c>database.is_neutralized</c> true.
/// </summary>
internal sealed class NeutralizationProbe : IProbe
{
    public string Name => "neutralization";

    public bool Critical => true;

    public async Task<ProbeResult> RunAsync(ProbeContext context, CancellationToken cancellationToken) =>
        await CheckAsync(context.ConnectionString, cancellationToken);

    public static async Task<ProbeResult> CheckAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var schema = await OdooSchema.ReadAsync(connection, cancellationToken);
        var problems = new List<string>();
        var checkedItems = new List<string>();

        async Task Check(string requires, string what, string sql)
        {
            if (!schema.Has(requires))
            {
                return;
            }

            checkedItems.Add(what);
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddWithValue("host", Neutralizer.DummyMailHost);
            var offenders = await command.ExecuteScalarAsync(cancellationToken) as string;
            if (!string.IsNullOrEmpty(offenders))
            {
                problems.Add($"{what}: {offenders}");
            }
        }

        await Check("ir_mail_server.active", "active outgoing mail servers",
            "SELECT string_agg(name || ' (' || coalesce(smtp_host, '?') || ')', ', ') FROM ir_mail_server WHERE active AND coalesce(smtp_host, '') <> @host");
        await Check("fetchmail_server.active", "active incoming mail servers", "SELECT string_agg(name, ', ') FROM fetchmail_server WHERE active");
        await Check("ir_cron.active", "active scheduled actions other than autovacuum",
            schema.Has("ir_model_data.res_id")
                ? $"SELECT string_agg(coalesce(cron_name, id::text), ', ') FROM ir_cron WHERE active AND id NOT IN ({OdooSchema.AutovacuumCronIds})"
                : "SELECT string_agg(coalesce(cron_name, id::text), ', ') FROM ir_cron WHERE active");
        await Check("payment_provider.state", "live payment providers (state)",
            "SELECT string_agg(code || ' ' || state, ', ') FROM payment_provider WHERE state NOT IN ('test', 'disabled')");
        await Check("payment_provider.is_live", "live payment providers (is_live)", "SELECT string_agg(code, ', ') FROM payment_provider WHERE is_live");
        await Check("delivery_carrier.prod_environment", "carriers in production mode",
            "SELECT string_agg(delivery_type, ', ') FROM delivery_carrier WHERE prod_environment");
        await Check("ir_config_parameter.value", "database.is_neutralized",
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM ir_config_parameter WHERE key = 'database.is_neutralized' AND lower(value) = 'true') THEN NULL ELSE 'not set' END");

        if (checkedItems.Count == 0)
        {
            return ProbeResult.Fail("none of the Odoo tables neutralization protects exists: this does not look like an Odoo database");
        }

        return problems.Count == 0
            ? ProbeResult.Pass($"checked {string.Join(", ", checkedItems)}: none live")
            : ProbeResult.Fail(string.Join("; ", problems));
    }
}
