"""Privacy officers write and publish policy versions; Legal and Support agents read them in the admin."""

from django.db import migrations

from accounts.roles import role_permissions_grant

GRANTS = {
    "Privacy officers": ["view_policyversion", "add_policyversion", "change_policyversion"],
    "Legal": ["view_policyversion"],
    "Support agents": ["view_policyversion"],
}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="amendments", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("amendments", "0003_published_versions_never_change"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
