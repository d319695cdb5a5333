from django.db import migrations

from accounts.roles import role_permissions_grant

GRANTS = {"Privacy officers": ["view_dashboard"]}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="oversight", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("oversight", "0001_initial"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
