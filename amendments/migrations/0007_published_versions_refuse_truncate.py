"""On PostgreSQL the database also refuses TRUNCATE on the policy versions, whoever asks.

The row trigger of 0003 never fires for TRUNCATE, so one statement could remove every published text clients
agreed to. A statement trigger cannot tell drafts from published versions, and emptying the table is never needed
(a draft is deleted row by row, which 0003 allows): it refuses always. Only a superuser who switches triggers off
for the session (`session_replication_role = replica`, which the test suite's flush does) gets past it.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION policy_version_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'published policy versions cannot be changed or deleted: TRUNCATE on ' || TG_TABLE_NAME || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER policy_version_no_truncate
    BEFORE TRUNCATE ON amendments_policyversion
    FOR EACH STATEMENT EXECUTE FUNCTION policy_version_refuse_truncate();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS policy_version_no_truncate ON amendments_policyversion;
DROP FUNCTION IF EXISTS policy_version_refuse_truncate();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("amendments", "0006_notice_delivery_permissions")]
    operations = [migrations.RunPython(forward, backward)]
