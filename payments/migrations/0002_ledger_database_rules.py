"""The ledger's rules, enforced by PostgreSQL itself (docs/ledger.md, "Enforcement").

- Every posting balances: at COMMIT, a deferred constraint trigger checks each posting
  touched by the transaction (at least two entries; per currency, debits = credits).
- Append-only: UPDATE and DELETE of accounts, postings and entries are refused. TRUNCATE
  stays possible (the test suite flushes with it; only the table owner may run it).
- Entries join their posting only in the transaction that created it, carry their
  account's currency, and are stamped with the transaction's time (as is the posting),
  so that nothing can be backdated under a balance checkpoint.
- Currencies are three capital letters.

SQLite (`make run` without DATABASE_URL) gets none of this; the services check the same.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Correct a posting with a reversing posting.';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_account_append_only
    BEFORE UPDATE OR DELETE ON payments_ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_posting_append_only
    BEFORE UPDATE OR DELETE ON payments_ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_append_only
    BEFORE UPDATE OR DELETE ON payments_ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_posting_stamp() RETURNS trigger AS $$
BEGIN
    NEW.created_at := transaction_timestamp();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_posting_stamp
    BEFORE INSERT ON payments_ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_stamp();

CREATE OR REPLACE FUNCTION ledger_entry_prepare() RETURNS trigger AS $$
DECLARE
    account_currency text;
    posting_time timestamptz;
BEGIN
    SELECT currency INTO account_currency
        FROM payments_ledger_account WHERE id = NEW.account_id;
    IF account_currency IS DISTINCT FROM NEW.currency THEN
        RAISE EXCEPTION 'ledger entry in % on account % kept in %',
            NEW.currency, NEW.account_id, account_currency
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT created_at INTO posting_time
        FROM payments_ledger_posting WHERE id = NEW.posting_id;
    IF posting_time IS DISTINCT FROM transaction_timestamp() THEN
        RAISE EXCEPTION 'ledger posting % was made by another transaction: it cannot be changed',
            NEW.posting_id
            USING ERRCODE = 'check_violation';
    END IF;
    NEW.created_at := transaction_timestamp();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_entry_prepare
    BEFORE INSERT ON payments_ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_prepare();

CREATE OR REPLACE FUNCTION ledger_posting_assert_balanced() RETURNS trigger AS $$
DECLARE
    target bigint;
    line_count integer;
    unbalanced record;
BEGIN
    IF TG_TABLE_NAME = 'payments_ledger_posting' THEN
        target := NEW.id;
    ELSE
        target := NEW.posting_id;
    END IF;
    SELECT count(*) INTO line_count FROM payments_ledger_entry WHERE posting_id = target;
    IF line_count < 2 THEN
        RAISE EXCEPTION 'ledger posting % has % entries: a posting needs at least two',
            target, line_count
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT currency,
           coalesce(sum(amount) FILTER (WHERE direction = 'debit'), 0) AS debits,
           coalesce(sum(amount) FILTER (WHERE direction = 'credit'), 0) AS credits
        INTO unbalanced
        FROM payments_ledger_entry
        WHERE posting_id = target
        GROUP BY currency
        HAVING coalesce(sum(amount) FILTER (WHERE direction = 'debit'), 0)
            <> coalesce(sum(amount) FILTER (WHERE direction = 'credit'), 0)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger posting % is unbalanced in %: debits %, credits %',
            target, unbalanced.currency, unbalanced.debits, unbalanced.credits
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Deferred to COMMIT: a posting's header and lines are separate statements.
CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT ON payments_ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_assert_balanced();
CREATE CONSTRAINT TRIGGER ledger_entry_balanced
    AFTER INSERT ON payments_ledger_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_assert_balanced();

ALTER TABLE payments_ledger_account
    ADD CONSTRAINT ledger_account_currency_iso CHECK (currency ~ '^[A-Z]{3}$');
ALTER TABLE payments_ledger_entry
    ADD CONSTRAINT ledger_entry_currency_iso CHECK (currency ~ '^[A-Z]{3}$');
"""

BACKWARD = r"""
ALTER TABLE payments_ledger_entry DROP CONSTRAINT IF EXISTS ledger_entry_currency_iso;
ALTER TABLE payments_ledger_account DROP CONSTRAINT IF EXISTS ledger_account_currency_iso;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON payments_ledger_entry;
DROP TRIGGER IF EXISTS ledger_posting_balanced ON payments_ledger_posting;
DROP TRIGGER IF EXISTS ledger_entry_prepare ON payments_ledger_entry;
DROP TRIGGER IF EXISTS ledger_posting_stamp ON payments_ledger_posting;
DROP TRIGGER IF EXISTS ledger_entry_append_only ON payments_ledger_entry;
DROP TRIGGER IF EXISTS ledger_posting_append_only ON payments_ledger_posting;
DROP TRIGGER IF EXISTS ledger_account_append_only ON payments_ledger_account;
DROP FUNCTION IF EXISTS ledger_posting_assert_balanced();
DROP FUNCTION IF EXISTS ledger_entry_prepare();
DROP FUNCTION IF EXISTS ledger_posting_stamp();
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_ledger")]
    operations = [migrations.RunPython(forward, backward)]
