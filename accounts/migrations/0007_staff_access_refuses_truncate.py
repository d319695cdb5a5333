"""On PostgreSQL the database also refuses TRUNCATE on the staff access log, whoever asks.

The row trigger of 0005 never fires for TRUNCATE, so one statement could empty the record of every staff look at a
client's data. Nothing ever needs to empty the log: this statement trigger refuses it always. Only a superuser who
switches triggers off for the session (`session_replication_role = replica`, which the test suite's flush does)
gets past it.
"""

from django.db import migrations

FORWARD = """
CREATE TRIGGER accounts_staff_access_no_truncate
    BEFORE TRUNCATE ON accounts_staffaccess
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_staff_access_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS accounts_staff_access_no_truncate ON accounts_staffaccess;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_staff_access_permissions")]
    operations = [migrations.RunPython(forward, backward)]
