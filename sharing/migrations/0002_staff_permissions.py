from django.db import migrations

from accounts.roles import role_permissions_grant

GRANTS = {
    "Privacy officers": ["view_affiliate", "add_affiliate", "change_affiliate",
                         "view_sharingagreement", "add_sharingagreement", "change_sharingagreement",
                         "view_apikey", "add_apikey", "change_apikey",
                         "view_sharingrecord", "view_withdrawalnotice"],
    "Legal": ["view_affiliate", "view_sharingagreement", "view_sharingrecord", "view_withdrawalnotice"],
    "Support agents": ["view_affiliate", "view_sharingrecord"],
}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="sharing", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("sharing", "0001_initial"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
