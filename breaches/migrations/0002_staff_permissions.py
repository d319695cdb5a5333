"""Privacy officers record and work breaches; Legal reads them; support agents see nothing."""

from django.db import migrations

from accounts.roles import role_permissions_grant

GRANTS = {
    "Privacy officers": ["view_breach", "add_breach", "change_breach", "view_breachsubject", "view_breachauditentry",
                         "view_breachnote", "add_breachnote"],
    "Legal": ["view_breach", "view_breachsubject", "view_breachauditentry", "view_breachnote"],
}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="breaches", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("breaches", "0001_initial"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
