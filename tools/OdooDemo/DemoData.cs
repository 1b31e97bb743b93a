using System.Globalization;

namespace BackupDr.OdooDemo;

/// <summary>
/// The set-based SQL that fills every table but ir_attachment. Every "random" choice is a hash of a row id and
/// the seed (<c>hashint8extended</c>, stable across platforms because hash partitioning depends on it), every
/// date derives from fixed constants, and every id is explicit, so the same scale and seed give identical rows.
/// </summary>
internal static class DemoData
{
    /// <summary>Customers, vendors and contacts besides the 4 fixed partners (companies, OdooBot, admin).</summary>
    public static int ContactCount(int scale) => Math.Max(46, scale / 10);

    public static int PartnerCount(int scale) => 4 + ContactCount(scale);

    /// <summary>__system__, admin, 20 internal users, then one portal user per 500 moves.</summary>
    public static int UserCount(int scale) => 22 + (scale / 500);

    public static string Sql(int scale, long seed)
    {
        var n = scale.ToString(CultureInfo.InvariantCulture);
        var s = seed.ToString(CultureInfo.InvariantCulture);
        var partners = PartnerCount(scale).ToString(CultureInfo.InvariantCulture);
        var contacts = ContactCount(scale).ToString(CultureInfo.InvariantCulture);
        var users = UserCount(scale).ToString(CultureInfo.InvariantCulture);
        return $$"""
            CREATE FUNCTION pg_temp.h(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
              AS $$ SELECT hashint8extended($1, {{s}}) & 9223372036854775807 $$;
            CREATE FUNCTION pg_temp.pick(bigint, integer) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
              AS $$ SELECT (pg_temp.h($1) % $2)::integer $$;
            CREATE FUNCTION pg_temp.nlines(bigint) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE
              AS $$ SELECT 1 + pg_temp.pick($1 * 8 + 3, 6) $$;
            CREATE FUNCTION pg_temp.amount(bigint, integer) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE
              AS $$ SELECT round((1 + pg_temp.pick($1 * 16 + $2 + 1000000, 10)) * (5 + pg_temp.pick($1 * 16 + $2 + 2000000, 200000) / 100.0), 2) $$;

            INSERT INTO res_company (id, name, partner_id, currency_id, email, phone, vat, company_registry, sequence, parent_path, create_uid, write_uid, create_date, write_date)
            VALUES (1, 'Demo Holding SA', 1, 1, 'info@demo-holding.example.com', '+32 2 555 01 01', 'BE0477472701', '0477472701', 1, '1/', 1, 2, '2021-01-04 08:00', '2023-11-20 10:00'),
                   (2, 'Demo Trading GmbH', 2, 1, 'info@demo-trading.example.com', '+49 30 555 0102', 'DE123456788', 'HRB 12345', 2, '2/', 1, 2, '2021-01-04 08:05', '2023-11-20 10:00');

            INSERT INTO res_partner (id, company_id, name, complete_name, ref, lang, tz, vat, website, comment, type, street, zip, city,
              country_id, email, phone, mobile, is_company, active, customer_rank, supplier_rank, commercial_partner_id, partner_share,
              create_uid, write_uid, create_date, write_date)
            SELECT p, CASE WHEN p <= 2 THEN p END, nm, nm, CASE WHEN p > 4 THEN 'C' || lpad(p::text, 6, '0') END,
                   (ARRAY['en_US','fr_BE','nl_BE','de_DE'])[1 + pg_temp.pick(p * 7, 4)],
                   (ARRAY['Europe/Brussels','Europe/Paris','Europe/Berlin','America/New_York'])[1 + pg_temp.pick(p * 11, 4)],
                   CASE WHEN pg_temp.pick(p * 13, 3) = 0 THEN 'BE0' || (400000000 + pg_temp.pick(p * 17, 99999999)) END,
                   CASE WHEN pg_temp.pick(p * 19, 4) = 0 THEN 'https://www.partner' || p || '.example.com' END,
                   CASE WHEN pg_temp.pick(p * 23, 10) = 0 THEN '<p>Key account since ' || (2010 + p % 14) || '. PO number mandatory on every invoice.</p>' END,
                   'contact',
                   (1 + pg_temp.pick(p * 29, 250)) || ' ' || (ARRAY['Rue de la Loi','Avenue Louise','Main Street','Hauptstrasse','Kerkstraat'])[1 + pg_temp.pick(p * 31, 5)],
                   (1000 + pg_temp.pick(p * 41, 8999))::text,
                   (ARRAY['Brussels','Antwerp','Ghent','Paris','Lyon','Berlin','Munich','New York'])[1 + pg_temp.pick(p * 43, 8)],
                   1 + pg_temp.pick(p * 47, 240),
                   CASE WHEN p = 3 THEN 'odoobot@example.com' ELSE 'contact' || p || '@partner' || (p % 997) || '.example.com' END,
                   '+32 2 ' || lpad(pg_temp.pick(p * 53, 10000000)::text, 7, '0'),
                   CASE WHEN pg_temp.pick(p * 59, 2) = 0 THEN '+32 47' || lpad(pg_temp.pick(p * 61, 10000000)::text, 7, '0') END,
                   p <= 2 OR (p > 4 AND pg_temp.pick(p * 67, 3) = 0),
                   p <> 3 AND pg_temp.pick(p * 71, 50) <> 0,
                   CASE WHEN p > 4 AND pg_temp.pick(p * 73, 4) <> 3 THEN 1 + pg_temp.pick(p * 79, 30) ELSE 0 END,
                   CASE WHEN p > 4 AND pg_temp.pick(p * 73, 4) >= 2 THEN 1 + pg_temp.pick(p * 83, 10) ELSE 0 END,
                   p, p > 4, 1, 2,
                   timestamp '2021-01-04 08:00' + p * interval '17 minutes',
                   timestamp '2021-01-04 08:00' + p * interval '17 minutes' + interval '3 days'
            FROM (SELECT p, CASE p WHEN 1 THEN 'Demo Holding SA' WHEN 2 THEN 'Demo Trading GmbH' WHEN 3 THEN 'OdooBot' WHEN 4 THEN 'Mitchell Admin'
                            ELSE (ARRAY['Acme','Globex','Initech','Umbrella','Stark','Wayne','Wonka','Tyrell','Hooli','Vandelay'])[1 + pg_temp.pick(p, 10)]
                                 || ' ' || (ARRAY['Corp','SA','NV','BV','GmbH','Ltd','SRL','Inc'])[1 + pg_temp.pick(p * 3, 8)] || ' ' || p END AS nm
                  FROM generate_series(1, {{partners}}) p) x;

            INSERT INTO res_users (id, company_id, partner_id, active, login, password, signature, share, notification_type, totp_secret,
              create_uid, write_uid, create_date, write_date)
            SELECT u, 1, CASE u WHEN 1 THEN 3 WHEN 2 THEN 4 ELSE 2 + u END,
                   u <> 1 AND pg_temp.pick(u * 5, 25) <> 0,
                   CASE WHEN u = 1 THEN '__system__' WHEN u = 2 THEN 'admin' WHEN u <= 22 THEN 'user' || u || '@demo.example.com'
                        ELSE 'portal' || u || '@customer.example.com' END,
                   '$pbkdf2-sha512$600000$' || encode(sha256(('salt-{{s}}-' || u)::bytea), 'base64') || '$' || encode(sha256(('pw-{{s}}-' || u)::bytea), 'base64'),
                   '<p>--<br/>User ' || u || '</p>', u > 22, CASE WHEN u <= 22 THEN 'inbox' ELSE 'email' END,
                   CASE WHEN u BETWEEN 2 AND 6 THEN upper(substr(md5('totp-{{s}}-' || u), 1, 16)) END,
                   1, 1, timestamp '2021-01-04 09:00' + u * interval '1 hour', timestamp '2021-01-04 09:00' + u * interval '1 hour'
            FROM generate_series(1, {{users}}) u;

            -- chart of accounts: 60 per company, id = (company - 1) * 60 + k
            INSERT INTO account_account (id, company_id, code, name, account_type, internal_group, reconcile, create_uid, write_uid, create_date, write_date)
            SELECT (c - 1) * 60 + k, c,
                   CASE k WHEN 1 THEN '121000' WHEN 2 THEN '211000' WHEN 3 THEN '251000' WHEN 4 THEN '131000' WHEN 5 THEN '101401' WHEN 6 THEN '101501'
                          ELSE CASE WHEN k BETWEEN 11 AND 30 THEN '4000' WHEN k BETWEEN 31 AND 50 THEN '6000' ELSE '1000' END || lpad(k::text, 2, '0') END,
                   jsonb_build_object('en_US', CASE k WHEN 1 THEN 'Account Receivable' WHEN 2 THEN 'Account Payable' WHEN 3 THEN 'Tax Payable'
                          WHEN 4 THEN 'Tax Receivable' WHEN 5 THEN 'Bank' WHEN 6 THEN 'Cash'
                          ELSE CASE WHEN k BETWEEN 11 AND 30 THEN 'Product Sales ' WHEN k BETWEEN 31 AND 50 THEN 'Expenses ' ELSE 'Current Assets ' END || k END),
                   CASE k WHEN 1 THEN 'asset_receivable' WHEN 2 THEN 'liability_payable' WHEN 3 THEN 'liability_current' WHEN 4 THEN 'asset_current'
                          WHEN 5 THEN 'asset_cash' WHEN 6 THEN 'asset_cash'
                          ELSE CASE WHEN k BETWEEN 11 AND 30 THEN 'income' WHEN k BETWEEN 31 AND 50 THEN 'expense' ELSE 'asset_current' END END,
                   CASE WHEN k IN (2, 3) THEN 'liability' WHEN k BETWEEN 11 AND 30 THEN 'income' WHEN k BETWEEN 31 AND 50 THEN 'expense' ELSE 'asset' END,
                   k IN (1, 2), 1, 1, timestamp '2021-01-04 08:30', timestamp '2021-01-04 08:30'
            FROM generate_series(1, 2) c, generate_series(1, 60) k;

            -- journals: 5 per company, id = (company - 1) * 5 + j
            INSERT INTO account_journal (id, company_id, name, code, type, default_account_id, sequence, create_uid, write_uid, create_date, write_date)
            SELECT (c - 1) * 5 + j, c,
                   jsonb_build_object('en_US', (ARRAY['Customer Invoices','Vendor Bills','Bank','Cash','Miscellaneous Operations'])[j]),
                   (ARRAY['INV','BILL','BNK1','CSH1','MISC'])[j], (ARRAY['sale','purchase','bank','cash','general'])[j],
                   CASE WHEN j < 5 THEN (c - 1) * 60 + (ARRAY[11, 31, 5, 6])[j] END, j, 1, 1, timestamp '2021-01-04 08:30', timestamp '2021-01-04 08:30'
            FROM generate_series(1, 2) c, generate_series(1, 5) j;

            -- moves: 60% customer invoices, 25% vendor bills, refunds, misc entries; 90% posted, 8% draft, 2% cancelled
            INSERT INTO account_move (id, name, ref, state, move_type, date, invoice_date, invoice_date_due, journal_id, company_id,
              partner_id, commercial_partner_id, currency_id, sequence_prefix, sequence_number, invoice_user_id, payment_state,
              payment_reference, invoice_origin, narration, amount_untaxed, amount_tax, amount_total, amount_residual,
              amount_untaxed_signed, amount_tax_signed, amount_total_signed, amount_residual_signed,
              posted_before, is_move_sent, checked, create_uid, write_uid, create_date, write_date)
            SELECT m.i, CASE WHEN m.state = 'draft' THEN '/' ELSE x.prefix || lpad(m.i::text, 6, '0') END,
                   CASE WHEN m.move_type LIKE 'in_%' THEN 'SUPP-' || pg_temp.pick(m.i * 8 + 7, 1000000) END,
                   m.state, m.move_type, m.date,
                   CASE WHEN m.move_type <> 'entry' THEN m.date END, CASE WHEN m.move_type <> 'entry' THEN m.date + 30 END,
                   (m.company_id - 1) * 5 + CASE WHEN m.move_type LIKE 'out_%' THEN 1 WHEN m.move_type LIKE 'in_%' THEN 2 ELSE 5 END,
                   m.company_id, CASE WHEN m.move_type <> 'entry' THEN m.partner_id END, CASE WHEN m.move_type <> 'entry' THEN m.partner_id END,
                   1, CASE WHEN m.state <> 'draft' THEN x.prefix END, CASE WHEN m.state <> 'draft' THEN m.i END, m.user_id, x.payment_state,
                   CASE WHEN m.move_type = 'out_invoice' THEN x.prefix || lpad(m.i::text, 6, '0') END,
                   CASE WHEN m.move_type = 'out_invoice' AND pg_temp.pick(m.i * 9, 3) = 0 THEN 'S' || lpad((m.i / 2)::text, 5, '0') END,
                   CASE WHEN pg_temp.pick(m.i * 10, 4) = 0 THEN '<p>Payment terms: 30 days. Please mention ' || x.prefix || m.i || ' with your payment.</p>' END,
                   s.untaxed, x.tax, s.untaxed + x.tax, x.residual,
                   x.sgn * s.untaxed, x.sgn * x.tax, x.sgn * (s.untaxed + x.tax), x.sgn * x.residual,
                   m.state <> 'draft', m.move_type = 'out_invoice' AND m.state = 'posted', m.state = 'posted',
                   m.user_id, m.user_id,
                   m.date + time '08:00' + pg_temp.pick(m.i * 11, 36000) * interval '1 second',
                   m.date + time '08:00' + pg_temp.pick(m.i * 11, 36000) * interval '1 second' + pg_temp.pick(m.i * 12, 30) * interval '1 day'
            FROM (SELECT i,
                         CASE WHEN r_type < 60 THEN 'out_invoice' WHEN r_type < 85 THEN 'in_invoice' WHEN r_type < 90 THEN 'out_refund'
                              WHEN r_type < 93 THEN 'in_refund' ELSE 'entry' END AS move_type,
                         CASE WHEN r_state < 90 THEN 'posted' WHEN r_state < 98 THEN 'draft' ELSE 'cancel' END AS state,
                         CASE WHEN pg_temp.pick(i * 8 + 2, 10) < 8 THEN 1 ELSE 2 END AS company_id,
                         5 + pg_temp.pick(i * 8 + 4, {{contacts}}) AS partner_id,
                         date '2021-01-01' + (i * 1460 / {{n}})::integer AS date,
                         pg_temp.pick(i * 8 + 5, 100) AS r_pay,
                         2 + pg_temp.pick(i * 8 + 6, 21) AS user_id
                  FROM (SELECT i, pg_temp.pick(i * 8, 100) AS r_type, pg_temp.pick(i * 8 + 1, 100) AS r_state
                        FROM generate_series(1::bigint, {{n}}) i) r) m
            CROSS JOIN LATERAL (SELECT sum(pg_temp.amount(m.i, j)) AS untaxed FROM generate_series(1, pg_temp.nlines(m.i)) j) s
            CROSS JOIN LATERAL (
              SELECT CASE m.move_type WHEN 'out_invoice' THEN 'INV/' WHEN 'in_invoice' THEN 'BILL/' WHEN 'out_refund' THEN 'RINV/'
                                      WHEN 'in_refund' THEN 'RBILL/' ELSE 'MISC/' END || extract(year FROM m.date) || '/' AS prefix,
                     CASE WHEN m.move_type = 'entry' THEN 0 ELSE round(s.untaxed * 0.21, 2) END AS tax,
                     CASE WHEN m.move_type IN ('out_invoice', 'in_refund', 'entry') THEN 1 ELSE -1 END AS sgn,
                     CASE WHEN m.move_type = 'entry' OR m.state <> 'posted' OR m.r_pay BETWEEN 70 AND 89 THEN 'not_paid'
                          WHEN m.r_pay < 70 THEN 'paid' ELSE 'partial' END AS payment_state,
                     CASE WHEN m.move_type = 'entry' OR m.state = 'cancel' OR (m.state = 'posted' AND m.r_pay < 70) THEN 0
                          WHEN m.state = 'draft' OR m.r_pay BETWEEN 70 AND 89 THEN s.untaxed + round(s.untaxed * 0.21, 2)
                          ELSE round((s.untaxed + round(s.untaxed * 0.21, 2)) / 2, 2) END AS residual) x
            ORDER BY m.i;

            -- journal items: product lines, a tax line (not on misc entries), a counterpart that balances the move.
            -- psign = 1: product and tax lines are credits (out_invoice, in_refund); -1: debits.
            INSERT INTO account_move_line (move_id, journal_id, company_id, account_id, partner_id, move_name, parent_state, ref, name,
              display_type, sequence, date, date_maturity, currency_id, company_currency_id, product_id, tax_line_id, quantity, price_unit,
              discount, price_subtotal, price_total, debit, credit, balance, amount_currency, amount_residual, reconciled, matching_number,
              tax_base_amount, create_uid, write_uid, create_date, write_date)
            SELECT l.move_id, am.journal_id, am.company_id, l.account_id, am.partner_id, am.name, am.state, am.ref, l.label,
                   l.display_type, l.seq, am.date, l.date_maturity, 1, 1, l.product_id, l.tax_line_id, l.qty, l.price_unit, 0,
                   l.subtotal, l.total, greatest(l.bal, 0), greatest(-l.bal, 0), l.bal, l.bal, l.residual, l.reconciled,
                   CASE WHEN l.reconciled THEN 'A' || l.move_id END, l.tax_base, am.create_uid, am.write_uid, am.create_date, am.write_date
            FROM (
              SELECT a.id AS move_id, j AS seq, 'product' AS display_type,
                     (a.company_id - 1) * 60 + CASE WHEN a.move_type LIKE 'out_%' THEN 11 ELSE 31 END + pg_temp.pick(a.id * 16 + j + 3000000, 20) AS account_id,
                     '[P' || lpad(p.product_id::text, 5, '0') || '] Product ' || p.product_id AS label, p.product_id,
                     (1 + pg_temp.pick(a.id * 16 + j + 1000000, 10))::numeric AS qty,
                     round(5 + pg_temp.pick(a.id * 16 + j + 2000000, 200000) / 100.0, 2) AS price_unit,
                     pg_temp.amount(a.id, j) AS subtotal,
                     CASE WHEN a.move_type = 'entry' THEN pg_temp.amount(a.id, j) ELSE round(pg_temp.amount(a.id, j) * 1.21, 2) END AS total,
                     -pg_temp.amount(a.id, j) * CASE WHEN a.move_type IN ('out_invoice', 'in_refund') THEN 1 ELSE -1 END AS bal,
                     NULL::date AS date_maturity, NULL::integer AS tax_line_id, NULL::numeric AS tax_base, 0::numeric AS residual, false AS reconciled
              FROM account_move a
              CROSS JOIN LATERAL generate_series(1, pg_temp.nlines(a.id)) j
              CROSS JOIN LATERAL (SELECT 1 + pg_temp.pick(a.id * 16 + j, 500) AS product_id) p
              UNION ALL
              SELECT a.id, 100, 'tax', (a.company_id - 1) * 60 + CASE WHEN a.move_type LIKE 'out_%' THEN 3 ELSE 4 END,
                     '21% VAT', NULL, NULL, NULL, a.amount_tax, a.amount_tax,
                     -a.amount_tax * CASE WHEN a.move_type IN ('out_invoice', 'in_refund') THEN 1 ELSE -1 END,
                     NULL, 1 + (a.move_type LIKE 'in_%')::integer, a.amount_untaxed, 0, false
              FROM account_move a WHERE a.move_type <> 'entry'
              UNION ALL
              SELECT a.id, 200, 'payment_term',
                     (a.company_id - 1) * 60 + CASE WHEN a.move_type LIKE 'out_%' THEN 1 WHEN a.move_type LIKE 'in_%' THEN 2 ELSE 5 END,
                     COALESCE(a.payment_reference, a.name, '/'), NULL, NULL, NULL, NULL, NULL,
                     a.amount_total * CASE WHEN a.move_type IN ('out_invoice', 'in_refund') THEN 1 ELSE -1 END,
                     a.invoice_date_due, NULL, NULL,
                     a.amount_residual * CASE WHEN a.move_type IN ('out_invoice', 'in_refund') THEN 1 ELSE -1 END,
                     a.state = 'posted' AND a.payment_state = 'paid'
              FROM account_move a
            ) l
            JOIN account_move am ON am.id = l.move_id
            ORDER BY l.move_id, l.seq;
            """;
    }
}
