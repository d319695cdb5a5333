"""On PostgreSQL the database itself refuses UPDATE and DELETE on the ledger, whoever asks.

The personal values beside each event may be deleted (erasure) but never changed.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION consent_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the consent ledger is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER consent_event_append_only
    BEFORE UPDATE OR DELETE ON consent_consentevent
    FOR EACH ROW EXECUTE FUNCTION consent_ledger_refuse_change();

CREATE TRIGGER consent_event_personal_no_update
    BEFORE UPDATE ON consent_consenteventpersonaldata
    FOR EACH ROW EXECUTE FUNCTION consent_ledger_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS consent_event_append_only ON consent_consentevent;
DROP TRIGGER IF EXISTS consent_event_personal_no_update ON consent_consenteventpersonaldata;
DROP FUNCTION IF EXISTS consent_ledger_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("consent", "0002_purpose_catalogue")]
    operations = [migrations.RunPython(forward, backward)]
