namespace BackupDr.OdooDemo;

/// <summary>
/// The Odoo-17-like tables, named and typed as Odoo 17 creates them (a subset of the columns). Foreign keys and
/// indexes are added after the load (<see cref="Constraints"/>), as pg_restore does, because that is faster.
/// </summary>
internal static class DemoSchema
{
    /// <summary>Every table the generator owns, in an order that drops cleanly with CASCADE.</summary>
    public static readonly string[] Tables =
    [
        "account_move_line", "account_move", "account_journal", "account_account", "ir_attachment", "ir_cron",
        "ir_model_data", "ir_mail_server", "fetchmail_server", "payment_provider", "delivery_carrier",
        "ir_config_parameter", "ir_module_module", "res_users", "res_partner", "res_company",
    ];

    private const string Audit = "create_uid integer, write_uid integer, create_date timestamp, write_date timestamp";

    public const string Create = $"""
        CREATE TABLE res_company (
          id serial PRIMARY KEY, name varchar NOT NULL, partner_id integer NOT NULL, currency_id integer NOT NULL,
          email varchar, phone varchar, vat varchar, company_registry varchar, sequence integer, parent_path varchar,
          active boolean DEFAULT true, {Audit});
        CREATE TABLE res_partner (
          id serial PRIMARY KEY, company_id integer, name varchar, complete_name varchar, ref varchar, lang varchar,
          tz varchar, vat varchar, website varchar, comment text, type varchar, street varchar, zip varchar, city varchar,
          country_id integer, email varchar, phone varchar, mobile varchar, is_company boolean, active boolean,
          customer_rank integer, supplier_rank integer, commercial_partner_id integer, partner_share boolean, {Audit});
        CREATE TABLE res_users (
          id serial PRIMARY KEY, company_id integer NOT NULL, partner_id integer NOT NULL, active boolean DEFAULT true,
          login varchar NOT NULL, password varchar, signature text, share boolean, notification_type varchar NOT NULL,
          totp_secret varchar, {Audit});
        CREATE TABLE account_account (
          id serial PRIMARY KEY, company_id integer NOT NULL, code varchar(64) NOT NULL, name jsonb NOT NULL,
          account_type varchar NOT NULL, internal_group varchar, reconcile boolean DEFAULT false,
          deprecated boolean DEFAULT false, currency_id integer, note text, {Audit});
        CREATE TABLE account_journal (
          id serial PRIMARY KEY, company_id integer NOT NULL, name jsonb NOT NULL, code varchar(5) NOT NULL,
          type varchar NOT NULL, active boolean DEFAULT true, default_account_id integer, sequence integer, {Audit});
        CREATE TABLE account_move (
          id serial PRIMARY KEY, name varchar, ref varchar, state varchar NOT NULL, move_type varchar NOT NULL,
          date date NOT NULL, invoice_date date, invoice_date_due date, journal_id integer NOT NULL, company_id integer,
          partner_id integer, commercial_partner_id integer, currency_id integer NOT NULL, sequence_prefix varchar,
          sequence_number integer, invoice_user_id integer, payment_state varchar, payment_reference varchar,
          invoice_origin varchar, narration text, amount_untaxed numeric, amount_tax numeric, amount_total numeric,
          amount_residual numeric, amount_untaxed_signed numeric, amount_tax_signed numeric,
          amount_total_signed numeric, amount_residual_signed numeric, auto_post varchar DEFAULT 'no',
          posted_before boolean, is_move_sent boolean, checked boolean, {Audit});
        CREATE TABLE account_move_line (
          id serial PRIMARY KEY, move_id integer NOT NULL, journal_id integer, company_id integer, account_id integer,
          partner_id integer, move_name varchar, parent_state varchar, ref varchar, name varchar,
          display_type varchar NOT NULL, sequence integer, date date, date_maturity date, currency_id integer NOT NULL,
          company_currency_id integer, product_id integer, tax_line_id integer, quantity numeric, price_unit numeric,
          discount numeric, price_subtotal numeric, price_total numeric, debit numeric, credit numeric, balance numeric,
          amount_currency numeric, amount_residual numeric, reconciled boolean, matching_number varchar,
          tax_base_amount numeric, {Audit});
        CREATE TABLE ir_attachment (
          id serial PRIMARY KEY, name varchar NOT NULL, description text, res_model varchar, res_field varchar,
          res_id integer, company_id integer, type varchar NOT NULL, url varchar(1024), public boolean,
          access_token varchar, db_datas bytea, store_fname varchar, file_size integer, checksum varchar(40),
          mimetype varchar, index_content text, original_id integer, {Audit});
        CREATE TABLE ir_model_data (
          id serial PRIMARY KEY, module varchar NOT NULL, name varchar NOT NULL, model varchar NOT NULL,
          res_id integer, noupdate boolean DEFAULT false, {Audit});
        CREATE TABLE ir_cron (
          id serial PRIMARY KEY, ir_actions_server_id integer NOT NULL, cron_name varchar, user_id integer NOT NULL,
          active boolean, interval_number integer, interval_type varchar, numbercall integer, doall boolean,
          nextcall timestamp NOT NULL, lastcall timestamp, priority integer, {Audit});
        CREATE TABLE ir_mail_server (
          id serial PRIMARY KEY, name varchar NOT NULL, from_filter varchar, smtp_host varchar, smtp_port integer,
          smtp_authentication varchar NOT NULL, smtp_user varchar, smtp_pass varchar, smtp_encryption varchar NOT NULL,
          smtp_debug boolean, sequence integer, active boolean, {Audit});
        CREATE TABLE fetchmail_server (
          id serial PRIMARY KEY, name varchar NOT NULL, active boolean, state varchar, server varchar, port integer,
          server_type varchar NOT NULL, is_ssl boolean, attach boolean, original boolean, date timestamp,
          "user" varchar, password varchar, object_id integer, priority integer, {Audit});
        CREATE TABLE payment_provider (
          id serial PRIMARY KEY, name jsonb NOT NULL, code varchar NOT NULL, state varchar NOT NULL,
          company_id integer NOT NULL, is_published boolean, sequence integer, {Audit});
        CREATE TABLE delivery_carrier (
          id serial PRIMARY KEY, name jsonb NOT NULL, delivery_type varchar NOT NULL, prod_environment boolean,
          debug_logging boolean, active boolean, company_id integer, sequence integer, {Audit});
        CREATE TABLE ir_config_parameter (
          id serial PRIMARY KEY, key varchar NOT NULL, value text NOT NULL, {Audit});
        CREATE TABLE ir_module_module (
          id serial PRIMARY KEY, name varchar NOT NULL, state varchar, latest_version varchar, author varchar,
          shortdesc jsonb, summary jsonb, application boolean, auto_install boolean, license varchar, {Audit});
        """;

    public const string Constraints = """
        ALTER TABLE res_company ADD CONSTRAINT res_company_partner_id_fkey FOREIGN KEY (partner_id) REFERENCES res_partner(id);
        ALTER TABLE res_partner ADD CONSTRAINT res_partner_company_id_fkey FOREIGN KEY (company_id) REFERENCES res_company(id) ON DELETE SET NULL;
        ALTER TABLE res_partner ADD CONSTRAINT res_partner_commercial_partner_id_fkey FOREIGN KEY (commercial_partner_id) REFERENCES res_partner(id) ON DELETE SET NULL;
        ALTER TABLE res_users ADD CONSTRAINT res_users_login_key UNIQUE (login);
        ALTER TABLE res_users ADD CONSTRAINT res_users_company_id_fkey FOREIGN KEY (company_id) REFERENCES res_company(id);
        ALTER TABLE res_users ADD CONSTRAINT res_users_partner_id_fkey FOREIGN KEY (partner_id) REFERENCES res_partner(id) ON DELETE RESTRICT;
        ALTER TABLE account_account ADD CONSTRAINT account_account_code_company_uniq UNIQUE (code, company_id);
        ALTER TABLE account_account ADD CONSTRAINT account_account_company_id_fkey FOREIGN KEY (company_id) REFERENCES res_company(id);
        ALTER TABLE account_journal ADD CONSTRAINT account_journal_company_id_fkey FOREIGN KEY (company_id) REFERENCES res_company(id);
        ALTER TABLE account_journal ADD CONSTRAINT account_journal_default_account_id_fkey FOREIGN KEY (default_account_id) REFERENCES account_account(id) ON DELETE RESTRICT;
        ALTER TABLE account_move ADD CONSTRAINT account_move_journal_id_fkey FOREIGN KEY (journal_id) REFERENCES account_journal(id);
        ALTER TABLE account_move ADD CONSTRAINT account_move_company_id_fkey FOREIGN KEY (company_id) REFERENCES res_company(id);
        ALTER TABLE account_move ADD CONSTRAINT account_move_partner_id_fkey FOREIGN KEY (partner_id) REFERENCES res_partner(id);
        ALTER TABLE account_move ADD CONSTRAINT account_move_commercial_partner_id_fkey FOREIGN KEY (commercial_partner_id) REFERENCES res_partner(id);
        ALTER TABLE account_move_line ADD CONSTRAINT account_move_line_move_id_fkey FOREIGN KEY (move_id) REFERENCES account_move(id) ON DELETE CASCADE;
        ALTER TABLE account_move_line ADD CONSTRAINT account_move_line_account_id_fkey FOREIGN KEY (account_id) REFERENCES account_account(id);
        ALTER TABLE account_move_line ADD CONSTRAINT account_move_line_journal_id_fkey FOREIGN KEY (journal_id) REFERENCES account_journal(id);
        ALTER TABLE account_move_line ADD CONSTRAINT account_move_line_partner_id_fkey FOREIGN KEY (partner_id) REFERENCES res_partner(id);
        ALTER TABLE ir_attachment ADD CONSTRAINT ir_attachment_company_id_fkey FOREIGN KEY (company_id) REFERENCES res_company(id) ON DELETE SET NULL;
        ALTER TABLE ir_model_data ADD CONSTRAINT ir_model_data_module_name_uniq_index UNIQUE (module, name);
        ALTER TABLE ir_cron ADD CONSTRAINT ir_cron_user_id_fkey FOREIGN KEY (user_id) REFERENCES res_users(id);
        ALTER TABLE ir_config_parameter ADD CONSTRAINT ir_config_parameter_key_uniq UNIQUE (key);
        ALTER TABLE ir_module_module ADD CONSTRAINT ir_module_module_name_uniq UNIQUE (name);
        ALTER TABLE payment_provider ADD CONSTRAINT payment_provider_company_id_fkey FOREIGN KEY (company_id) REFERENCES res_company(id);
        CREATE INDEX res_partner__name_index ON res_partner (name);
        CREATE INDEX res_partner__ref_index ON res_partner (ref);
        CREATE INDEX res_partner__email_index ON res_partner (email);
        CREATE INDEX res_partner__commercial_partner_id_index ON res_partner (commercial_partner_id);
        CREATE INDEX account_move__date_index ON account_move (date);
        CREATE INDEX account_move__state_index ON account_move (state);
        CREATE INDEX account_move__partner_id_index ON account_move (partner_id);
        CREATE INDEX account_move__payment_reference_index ON account_move (payment_reference);
        CREATE INDEX account_move_sequence_index3 ON account_move (journal_id, sequence_prefix DESC, (sequence_number + 1) DESC);
        CREATE UNIQUE INDEX account_move_unique_name ON account_move (name, journal_id) WHERE state = 'posted' AND name <> '/';
        CREATE INDEX account_move_line__move_id_index ON account_move_line (move_id);
        CREATE INDEX account_move_line__account_id_index ON account_move_line (account_id);
        CREATE INDEX account_move_line__partner_id_index ON account_move_line (partner_id);
        CREATE INDEX account_move_line_date_name_id_idx ON account_move_line (date DESC, move_name DESC, id);
        CREATE INDEX ir_attachment_res_idx ON ir_attachment (res_model, res_id);
        CREATE INDEX ir_attachment__checksum_index ON ir_attachment (checksum);
        CREATE INDEX ir_attachment__store_fname_index ON ir_attachment (store_fname);
        CREATE INDEX ir_model_data_model_res_id_index ON ir_model_data (model, res_id);
        """;
}
