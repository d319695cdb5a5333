"""Staff read notice deliveries (evidence) in the admin; nobody writes them there."""

from django.db import migrations

from accounts.roles import role_permissions_grant

GRANTS = {
    "Privacy officers": ["view_noticedelivery"],
    "Legal": ["view_noticedelivery"],
    "Support agents": ["view_noticedelivery"],
}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="amendments", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("amendments", "0005_notice_delivery"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
