"""On PostgreSQL the database also refuses TRUNCATE on the ledger and on the personal values beside it, whoever asks.

The row triggers of 0003 never fire for TRUNCATE, so one statement (or a TRUNCATE … CASCADE from the clients' table)
could empty the proof of every consent. Erasure deletes personal values row by row (allowed); nothing ever needs to
empty either table, so these statement triggers refuse it always. Only a superuser who switches triggers off for
the session (`session_replication_role = replica`, which the test suite's flush does) gets past them.
"""

from django.db import migrations

FORWARD = """
CREATE TRIGGER consent_event_no_truncate
    BEFORE TRUNCATE ON consent_consentevent
    FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_refuse_change();

CREATE TRIGGER consent_event_personal_no_truncate
    BEFORE TRUNCATE ON consent_consenteventpersonaldata
    FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS consent_event_no_truncate ON consent_consentevent;
DROP TRIGGER IF EXISTS consent_event_personal_no_truncate ON consent_consenteventpersonaldata;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("consent", "0006_policy_acceptance_purpose")]
    operations = [migrations.RunPython(forward, backward)]
