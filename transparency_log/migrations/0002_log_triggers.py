"""The database keeps the log in step with the ledger and append-only, whoever writes.

- Every ledger event inserted gets a pending row in the same transaction (AFTER INSERT trigger, both vendors),
  so no write path can leave an event out of the log; events already in the ledger are queued in ledger order.
- On PostgreSQL, leaves, stored nodes and published checkpoints refuse UPDATE, DELETE and TRUNCATE (the
  function of consent 0003); the tree's size never shrinks and its row is never deleted or truncated; a queued
  event leaves the queue only once its leaf exists (so no DELETE can keep an event out of the log).
"""

from django.db import migrations

POSTGRESQL = """
CREATE OR REPLACE FUNCTION transparency_log_pend_event() RETURNS trigger AS $$
BEGIN
    INSERT INTO transparency_log_pendingleaf (event_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER consent_event_enters_log
    AFTER INSERT ON consent_consentevent
    FOR EACH ROW EXECUTE FUNCTION transparency_log_pend_event();

CREATE OR REPLACE FUNCTION transparency_log_size_only_grows() RETURNS trigger AS $$
BEGIN
    IF NEW.id <> OLD.id THEN
        RAISE EXCEPTION USING MESSAGE = 'the consent log''s head row keeps its id: refused',
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.size < OLD.size THEN
        RAISE EXCEPTION USING MESSAGE = 'the consent log only grows: size ' || OLD.size || ' to ' || NEW.size
            || ' refused', ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER log_head_only_grows
    BEFORE UPDATE ON transparency_log_loghead
    FOR EACH ROW EXECUTE FUNCTION transparency_log_size_only_grows();
CREATE TRIGGER transparency_log_loghead_no_truncate
    BEFORE TRUNCATE ON transparency_log_loghead
    FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_refuse_change();
CREATE TRIGGER log_head_not_deleted
    BEFORE DELETE ON transparency_log_loghead
    FOR EACH ROW EXECUTE FUNCTION consent_ledger_refuse_change();

CREATE OR REPLACE FUNCTION transparency_log_pending_leaves_only_into_the_tree() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM transparency_log_logleaf WHERE event_id = OLD.event_id) THEN
        RAISE EXCEPTION USING MESSAGE = 'ledger event ' || OLD.event_id || ' would leave the consent log''s queue '
            || 'without entering the log: refused', ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER pending_leaf_leaves_only_into_the_tree
    BEFORE DELETE ON transparency_log_pendingleaf
    FOR EACH ROW EXECUTE FUNCTION transparency_log_pending_leaves_only_into_the_tree();
CREATE TRIGGER pending_leaf_never_changes
    BEFORE UPDATE ON transparency_log_pendingleaf
    FOR EACH ROW EXECUTE FUNCTION consent_ledger_refuse_change();
CREATE TRIGGER transparency_log_pendingleaf_no_truncate
    BEFORE TRUNCATE ON transparency_log_pendingleaf
    FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_refuse_change();
"""

APPEND_ONLY = ["transparency_log_logleaf", "transparency_log_lognode", "transparency_log_signedcheckpoint"]
POSTGRESQL += "".join(f"""
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION consent_ledger_refuse_change();
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_refuse_change();
""" for table in APPEND_ONLY)

POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS consent_event_enters_log ON consent_consentevent;
DROP FUNCTION IF EXISTS transparency_log_pend_event();
DROP TRIGGER IF EXISTS log_head_only_grows ON transparency_log_loghead;
DROP TRIGGER IF EXISTS transparency_log_loghead_no_truncate ON transparency_log_loghead;
DROP TRIGGER IF EXISTS log_head_not_deleted ON transparency_log_loghead;
DROP TRIGGER IF EXISTS pending_leaf_leaves_only_into_the_tree ON transparency_log_pendingleaf;
DROP TRIGGER IF EXISTS transparency_log_pendingleaf_no_truncate ON transparency_log_pendingleaf;
DROP TRIGGER IF EXISTS pending_leaf_never_changes ON transparency_log_pendingleaf;
DROP FUNCTION IF EXISTS transparency_log_pending_leaves_only_into_the_tree();
DROP FUNCTION IF EXISTS transparency_log_size_only_grows();
""" + "".join(f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
""" for table in APPEND_ONLY)

SQLITE = """
CREATE TRIGGER consent_event_enters_log AFTER INSERT ON consent_consentevent
BEGIN
    INSERT INTO transparency_log_pendingleaf (event_id) VALUES (NEW.id);
END;
"""

# Events already in the ledger, in ledger order: those neither in the log nor queued (so running it again adds nothing).
BACKFILL = """
INSERT INTO transparency_log_pendingleaf (event_id) SELECT event.id FROM consent_consentevent event
WHERE NOT EXISTS (SELECT 1 FROM transparency_log_logleaf leaf WHERE leaf.event_id = event.id)
AND NOT EXISTS (SELECT 1 FROM transparency_log_pendingleaf pending WHERE pending.event_id = event.id)
ORDER BY event.id
"""


def forward(apps, schema_editor):
    schema_editor.execute(POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE)
    schema_editor.execute(BACKFILL)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD)
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS consent_event_enters_log")


class Migration(migrations.Migration):
    dependencies = [("transparency_log", "0001_initial"), ("consent", "0007_ledger_refuses_truncate")]
    operations = [migrations.RunPython(forward, backward)]
