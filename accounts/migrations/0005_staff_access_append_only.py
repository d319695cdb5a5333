"""On PostgreSQL the database itself refuses UPDATE and DELETE on the staff access log, whoever asks (the consent
ledger's technique). Erasure does not touch it: a row holds the client reference and the staff identity only."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION accounts_staff_access_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the staff access log is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_staff_access_append_only
    BEFORE UPDATE OR DELETE ON accounts_staffaccess
    FOR EACH ROW EXECUTE FUNCTION accounts_staff_access_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS accounts_staff_access_append_only ON accounts_staffaccess;
DROP FUNCTION IF EXISTS accounts_staff_access_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_staff_access")]
    operations = [migrations.RunPython(forward, backward)]
