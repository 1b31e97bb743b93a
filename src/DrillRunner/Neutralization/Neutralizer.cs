using System.Security.Cryptography;
using Npgsql;

namespace BackupDr.DrillRunner.Neutralization;

/// <summary>One neutralization step: what it changed, or why it did not apply (the table or column does not exist).</summary>
internal sealed record NeutralizationStep(string Name, long Rows, string? NotApplicable);

internal sealed record NeutralizationResult(IReadOnlyList<NeutralizationStep> Steps)
{
    public long RowsChanged => Steps.Sum(s => s.Rows);
}

/// <summary>
/// Makes a restored Odoo database safe to run, as Odoo itself does for copies (each installed module's
/// <c>data/neutralize.sql</c>), on the tables and columns that exist, in one transaction:
/// every outgoing mail server off plus one active dummy server on host <c>invalid</c> (so Odoo never falls back to a
/// server given on its command line), incoming mail servers off, mail templates detached from mail servers, every
/// scheduled action off except <c>base.autovacuum_job</c>, payment providers not live, delivery carriers out of
/// production mode, webhook server actions pointed nowhere, IAP tokens disabled, <c>database.is_neutralized</c> set.
/// Beyond Odoo's own script, as operators do for copies: a new <c>database.uuid</c> and <c>database.secret</c>, no
/// <c>database.enterprise_code</c> (the copy must never speak to Odoo's services as the production database), and
/// <c>web.base.url</c> / <c>report.url</c> marked: pointed at the sandbox's Odoo (or <c>http://neutralized.invalid</c>,
/// a name that never resolves), frozen, the original kept under <c>backupdr.original.*</c>.
/// A neutralization probe then proves the outcome rather than trusting this script.
/// </summary>
internal static class Neutralizer
{
    public const string DummyMailHost = "invalid";
    public const string MarkedUrl = "http://neutralized.invalid";

    /// <param name="baseUrl">The URL links in the copy should point to (the sandbox's Odoo), or null for <see cref="MarkedUrl"/>.</param>
    public static async Task<NeutralizationResult> NeutralizeAsync(string connectionString, string? baseUrl, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var schema = await OdooSchema.ReadAsync(connection, cancellationToken);

        var steps = new List<NeutralizationStep>();

        async Task Step(string name, string[] requires, string sql, params (string Name, object Value)[] parameters)
        {
            var missing = requires.FirstOrDefault(r => !schema.Has(r));
            if (missing is not null)
            {
                steps.Add(new NeutralizationStep(name, 0, $"no {missing}"));
                return;
            }

            await using var command = new NpgsqlCommand(sql, connection, transaction);
            foreach (var (parameter, value) in parameters)
            {
                command.Parameters.AddWithValue(parameter, value);
            }

            steps.Add(new NeutralizationStep(name, await command.ExecuteNonQueryAsync(cancellationToken), null));
        }

        await Step("outgoing mail servers off", ["ir_mail_server.active", "ir_mail_server.smtp_host"],
            "UPDATE ir_mail_server SET active = false WHERE active IS DISTINCT FROM false AND smtp_host IS DISTINCT FROM @host", ("host", DummyMailHost));
        await Step("dummy outgoing mail server (host invalid)",
            ["ir_mail_server.smtp_host", "ir_mail_server.smtp_port", "ir_mail_server.smtp_encryption", "ir_mail_server.smtp_authentication"],
            """
            INSERT INTO ir_mail_server (name, smtp_host, smtp_port, smtp_encryption, smtp_authentication, active)
            SELECT 'neutralization - disable emails', @host, 1025, 'none', 'login', true
            WHERE NOT EXISTS (SELECT 1 FROM ir_mail_server WHERE smtp_host = @host AND active)
            """,
            ("host", DummyMailHost));
        await Step("incoming mail servers off", ["fetchmail_server.active"], "UPDATE fetchmail_server SET active = false WHERE active IS DISTINCT FROM false");
        await Step("mail templates detached from mail servers", ["mail_template.mail_server_id"],
            "UPDATE mail_template SET mail_server_id = NULL WHERE mail_server_id IS NOT NULL");
        // Without ir_model_data the autovacuum job cannot be told apart: then every scheduled action goes off.
        await Step("scheduled actions off (autovacuum kept)", ["ir_cron.active"],
            schema.Has("ir_model_data.res_id")
                ? $"UPDATE ir_cron SET active = false WHERE active IS DISTINCT FROM false AND id NOT IN ({OdooSchema.AutovacuumCronIds})"
                : "UPDATE ir_cron SET active = false WHERE active IS DISTINCT FROM false");
        await Step("payment providers not live (is_live)", ["payment_provider.is_live"], "UPDATE payment_provider SET is_live = false WHERE is_live");
        await Step("payment providers disabled (state)", ["payment_provider.state"],
            "UPDATE payment_provider SET state = 'disabled' WHERE state NOT IN ('test', 'disabled')");
        await Step("delivery carriers out of production", ["delivery_carrier.prod_environment"],
            "UPDATE delivery_carrier SET prod_environment = false WHERE prod_environment");
        await Step("webhook server actions disabled", ["ir_act_server.webhook_url"],
            "UPDATE ir_act_server SET webhook_url = 'neutralization - disable webhook' WHERE state = 'webhook'");
        await Step("IAP account tokens disabled", ["iap_account.account_token"],
            "UPDATE iap_account SET account_token = account_token || '+disabled' WHERE account_token NOT LIKE '%+disabled'");

        string[] parameters = ["ir_config_parameter.key", "ir_config_parameter.value"];
        await Step("database.is_neutralized = true", parameters, SetParameter, ("key", "database.is_neutralized"), ("value", "true"));
        await Step("new database.uuid", parameters, ReplaceParameter, ("key", "database.uuid"), ("value", Guid.NewGuid().ToString()));
        await Step("new database.secret", parameters, ReplaceParameter, ("key", "database.secret"), ("value", RandomToken()));
        await Step("database.enterprise_code removed", parameters, "DELETE FROM ir_config_parameter WHERE key = 'database.enterprise_code'");
        var url = baseUrl ?? MarkedUrl;
        foreach (var key in new[] { "web.base.url", "report.url" })
        {
            await Step($"original {key} kept", parameters,
                "INSERT INTO ir_config_parameter (key, value) SELECT @key, value FROM ir_config_parameter WHERE key = @source AND value <> @value AND NOT EXISTS (SELECT 1 FROM ir_config_parameter WHERE key = @key)",
                ("key", "backupdr.original." + key), ("source", key), ("value", url));
            await Step($"{key} marked", parameters, "UPDATE ir_config_parameter SET value = @value WHERE key = @key AND value <> @value", ("key", key), ("value", url));
        }

        await Step("web.base.url frozen", parameters, SetParameter, ("key", "web.base.url.freeze"), ("value", "True"));
        await transaction.CommitAsync(cancellationToken);
        return new NeutralizationResult(steps);
    }

    /// <summary>Sets a parameter, creating it when missing (no reliance on a unique index: UPDATE, then INSERT if nothing matched).</summary>
    private const string SetParameter = """
        WITH updated AS (UPDATE ir_config_parameter SET value = @value WHERE key = @key RETURNING 1)
        INSERT INTO ir_config_parameter (key, value) SELECT @key, @value WHERE NOT EXISTS (SELECT 1 FROM updated)
        """;

    /// <summary>Replaces a parameter's value only where it exists.</summary>
    private const string ReplaceParameter = "UPDATE ir_config_parameter SET value = @value WHERE key = @key";

    private static string RandomToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
