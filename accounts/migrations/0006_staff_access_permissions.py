"""Privacy officers read the staff access log and may export selected clients (with a reason); nobody edits the log."""

from django.db import migrations

from accounts.roles import role_permissions_grant

GRANTS = {"Privacy officers": ["view_staffaccess", "export_client_csv"]}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="accounts", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_staff_access_append_only")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
