using System.Globalization;

namespace BackupDr.OdooDemo;

/// <summary>
/// The rows a neutralization must change in a restored copy: active crons (and the auto-vacuum job it must keep),
/// active mail and fetchmail servers, live payment providers and carriers, the database identity parameters.
/// </summary>
internal static class DemoSettings
{
    public static string Sql(long seed)
    {
        var s = seed.ToString(CultureInfo.InvariantCulture);
        return $$"""
            INSERT INTO ir_cron (id, ir_actions_server_id, cron_name, user_id, active, interval_number, interval_type, numbercall, doall,
              nextcall, lastcall, priority, create_uid, write_uid, create_date, write_date)
            SELECT c.n, 100 + c.n, c.name, 1, c.active, c.num, c.unit, -1, false,
                   timestamp '2024-12-31 00:00' + c.n * interval '7 minutes', timestamp '2024-12-30 00:00' + c.n * interval '7 minutes',
                   5, 1, 1, timestamp '2021-01-04 08:00', timestamp '2024-12-30 00:00'
            FROM (SELECT v.*, row_number() OVER () AS n FROM (VALUES
              ('Base: Auto-vacuum internal data', true, 1, 'days', 'base', 'autovacuum_job'),
              ('Base: Portal Users Deletion', true, 1, 'days', 'base', 'ir_cron_res_users_deletion'),
              ('Mail: Email Queue Manager', true, 1, 'hours', 'mail', 'ir_cron_mail_scheduler_action'),
              ('Mail: Fetchmail Service', true, 5, 'minutes', 'mail', 'ir_cron_mail_gateway_action'),
              ('Mail: Activity deadline reminder', true, 1, 'days', 'mail', 'ir_cron_mail_activity_reminder'),
              ('Account: Post draft entries with auto_post enabled and accounting date up to today', true, 1, 'days', 'account', 'ir_cron_auto_post_draft_entry'),
              ('Payment: Post-process transactions', true, 10, 'minutes', 'payment', 'cron_post_process_payment_tx'),
              ('Digest Emails', true, 1, 'days', 'digest', 'ir_cron_digest_scheduler_action'),
              ('Calendar: Event Reminder', true, 1, 'hours', 'calendar', 'ir_cron_scheduler_alarm'),
              ('SMS: SMS Queue Manager', true, 1, 'days', 'sms', 'ir_cron_sms_scheduler_action'),
              ('Partner Autocomplete: Sync with remote DB', true, 1, 'days', 'partner_autocomplete', 'ir_cron_partner_autocomplete'),
              ('Sale: Send quotation reminders', false, 1, 'days', 'sale', 'ir_cron_send_quotation_reminder'),
              ('Publisher: Update Notification', true, 1, 'weeks', 'mail', 'ir_cron_module_update_notification')
            ) AS v(name, active, num, unit, module, xmlid)) c;

            INSERT INTO ir_mail_server (id, name, from_filter, smtp_host, smtp_port, smtp_authentication, smtp_user, smtp_pass, smtp_encryption,
              smtp_debug, sequence, active, create_uid, write_uid, create_date, write_date)
            VALUES (1, 'Production SMTP', 'demo.example.com', 'smtp.example.com', 587, 'login', 'erp@demo.example.com', 'not-a-real-password', 'starttls', false, 10, true, 2, 2, '2021-01-05 10:00', '2024-06-01 10:00'),
                   (2, 'Bulk mailing relay', NULL, 'relay.example.net', 465, 'login', 'bulk@demo.example.com', 'not-a-real-password', 'ssl', false, 20, true, 2, 2, '2021-03-01 10:00', '2024-06-01 10:00');

            INSERT INTO fetchmail_server (id, name, active, state, server, port, server_type, is_ssl, attach, original, date, "user", password,
              object_id, priority, create_uid, write_uid, create_date, write_date)
            VALUES (1, 'Support inbox', true, 'done', 'imap.example.com', 993, 'imap', true, true, false, '2024-12-30 23:55', 'support@demo.example.com', 'not-a-real-password', 1, 5, 2, 2, '2021-01-05 10:00', '2024-06-01 10:00'),
                   (2, 'Vendor bills inbox', true, 'done', 'pop.example.com', 995, 'pop', true, true, false, '2024-12-30 23:55', 'bills@demo.example.com', 'not-a-real-password', 2, 5, 2, 2, '2021-01-05 10:00', '2024-06-01 10:00');

            INSERT INTO payment_provider (id, name, code, state, company_id, is_published, sequence, create_uid, write_uid, create_date, write_date)
            VALUES (1, '{"en_US": "Stripe"}', 'stripe', 'enabled', 1, true, 1, 2, 2, '2021-02-01 10:00', '2024-06-01 10:00'),
                   (2, '{"en_US": "Adyen"}', 'adyen', 'enabled', 2, true, 2, 2, 2, '2021-02-01 10:00', '2024-06-01 10:00'),
                   (3, '{"en_US": "PayPal"}', 'paypal', 'test', 1, false, 3, 2, 2, '2021-02-01 10:00', '2024-06-01 10:00'),
                   (4, '{"en_US": "Wire Transfer"}', 'custom', 'enabled', 1, true, 4, 2, 2, '2021-02-01 10:00', '2024-06-01 10:00'),
                   (5, '{"en_US": "Demo"}', 'demo', 'disabled', 1, false, 5, 2, 2, '2021-02-01 10:00', '2021-02-01 10:00');

            INSERT INTO delivery_carrier (id, name, delivery_type, prod_environment, debug_logging, active, company_id, sequence, create_uid, write_uid, create_date, write_date)
            VALUES (1, '{"en_US": "DHL Express"}', 'dhl', true, false, true, 1, 1, 2, 2, '2021-02-01 10:00', '2024-06-01 10:00'),
                   (2, '{"en_US": "FedEx International"}', 'fedex', true, false, true, 2, 2, 2, 2, '2021-02-01 10:00', '2024-06-01 10:00'),
                   (3, '{"en_US": "Standard delivery"}', 'fixed', false, false, true, NULL, 3, 2, 2, '2021-02-01 10:00', '2021-02-01 10:00');

            INSERT INTO ir_config_parameter (id, key, value, create_uid, write_uid, create_date, write_date)
            SELECT row_number() OVER (), k, v, 1, 1, timestamp '2021-01-04 08:00', timestamp '2021-01-04 08:00' FROM (VALUES
              ('database.uuid', md5('odoo-demo-uuid-{{s}}')::uuid::text),
              ('database.secret', encode(sha256('odoo-demo-secret-{{s}}'::bytea), 'hex')),
              ('database.enterprise_code', 'M' || upper(substr(md5('odoo-demo-code-{{s}}'), 1, 14))),
              ('database.create_date', '2021-01-04 08:00:00'),
              ('database.expiration_date', '2030-12-31 00:00:00'),
              ('web.base.url', 'https://erp.demo.example.com'),
              ('web.base.url.freeze', 'True'),
              ('report.url', 'http://127.0.0.1:8069'),
              ('mail.catchall.domain', 'demo.example.com'),
              ('mail.default.from', 'notifications'),
              ('mail.bounce.alias', 'bounce'),
              ('ir_attachment.location', 'file'),
              ('base_setup.default_user_rights', 'True'),
              ('iap.partner_autocomplete.endpoint', 'https://partner-autocomplete.odoo.com'),
              ('sms.endpoint', 'https://iap-sms.odoo.com')
            ) AS p(k, v);

            INSERT INTO ir_module_module (id, name, state, latest_version, author, shortdesc, summary, application, auto_install, license,
              create_uid, write_uid, create_date, write_date)
            SELECT row_number() OVER (), m.name, m.state, CASE WHEN m.state = 'installed' THEN m.version END, 'Odoo S.A.',
                   jsonb_build_object('en_US', initcap(replace(m.name, '_', ' '))), jsonb_build_object('en_US', ''), m.app, false,
                   CASE WHEN m.name LIKE '%enterprise%' THEN 'OEEL-1' ELSE 'LGPL-3' END,
                   1, 1, timestamp '2021-01-04 08:00', timestamp '2023-11-20 10:00'
            FROM (VALUES ('base', 'installed', '17.0.1.3', false), ('web', 'installed', '17.0.1.0', false),
                         ('mail', 'installed', '17.0.1.15', true), ('contacts', 'installed', '17.0.1.0', true),
                         ('product', 'installed', '17.0.1.2', false), ('uom', 'installed', '17.0.1.0', false),
                         ('account', 'installed', '17.0.1.2', true), ('payment', 'installed', '17.0.2.0', false),
                         ('account_payment', 'installed', '17.0.2.0', false), ('payment_stripe', 'installed', '17.0.2.0', false),
                         ('payment_adyen', 'installed', '17.0.2.0', false), ('delivery', 'installed', '17.0.1.0', false),
                         ('sale', 'installed', '17.0.1.2', true), ('purchase', 'installed', '17.0.1.2', true),
                         ('stock', 'installed', '17.0.1.1', true), ('digest', 'installed', '17.0.1.1', false),
                         ('calendar', 'installed', '17.0.1.1', true), ('sms', 'installed', '17.0.2.4', false),
                         ('iap', 'installed', '17.0.1.1', false), ('web_enterprise', 'installed', '17.0.1.0', false),
                         ('website', 'uninstalled', '17.0.1.0', true), ('hr', 'uninstalled', '17.0.1.1', true),
                         ('pos_adyen', 'uninstalled', '17.0.1.0', false)) AS m(name, state, version, app);

            -- external ids (xmlids), as Odoo records them for data files: neutralization finds the auto-vacuum job by name
            INSERT INTO ir_model_data (module, name, model, res_id, noupdate, create_uid, write_uid, create_date, write_date)
            SELECT module, name, model, res_id, noupdate, 1, 1, timestamp '2021-01-04 08:00', timestamp '2021-01-04 08:00' FROM (
              SELECT 1 AS g, c.id AS o, x.module, x.xmlid AS name, 'ir.cron' AS model, c.id AS res_id, true AS noupdate
              FROM ir_cron c JOIN (VALUES
                ('Base: Auto-vacuum internal data', 'base', 'autovacuum_job'),
                ('Base: Portal Users Deletion', 'base', 'ir_cron_res_users_deletion'),
                ('Mail: Email Queue Manager', 'mail', 'ir_cron_mail_scheduler_action'),
                ('Mail: Fetchmail Service', 'mail', 'ir_cron_mail_gateway_action'),
                ('Mail: Activity deadline reminder', 'mail', 'ir_cron_mail_activity_reminder'),
                ('Account: Post draft entries with auto_post enabled and accounting date up to today', 'account', 'ir_cron_auto_post_draft_entry'),
                ('Payment: Post-process transactions', 'payment', 'cron_post_process_payment_tx'),
                ('Digest Emails', 'digest', 'ir_cron_digest_scheduler_action'),
                ('Calendar: Event Reminder', 'calendar', 'ir_cron_scheduler_alarm'),
                ('SMS: SMS Queue Manager', 'sms', 'ir_cron_sms_scheduler_action'),
                ('Partner Autocomplete: Sync with remote DB', 'partner_autocomplete', 'ir_cron_partner_autocomplete'),
                ('Sale: Send quotation reminders', 'sale', 'ir_cron_send_quotation_reminder'),
                ('Publisher: Update Notification', 'mail', 'ir_cron_module_update_notification')) x(cron, module, xmlid)
                ON x.cron = c.cron_name
              UNION ALL SELECT 2, 1, 'base', 'main_company', 'res.company', 1, true
              UNION ALL SELECT 2, 2, 'base', 'main_partner', 'res.partner', 1, true
              UNION ALL SELECT 2, 3, 'base', 'partner_root', 'res.partner', 3, true
              UNION ALL SELECT 2, 4, 'base', 'partner_admin', 'res.partner', 4, true
              UNION ALL SELECT 2, 5, 'base', 'user_root', 'res.users', 1, true
              UNION ALL SELECT 2, 6, 'base', 'user_admin', 'res.users', 2, true
              UNION ALL SELECT 2, 7, 'base', 'EUR', 'res.currency', 1, true
              UNION ALL SELECT 3, m.id, 'base', 'module_' || m.name, 'ir.module.module', m.id, true FROM ir_module_module m
              UNION ALL SELECT 4, p.id, 'payment', 'payment_provider_' || p.code, 'payment.provider', p.id, true FROM payment_provider p
            ) d ORDER BY g, o;
            """;
    }
}
