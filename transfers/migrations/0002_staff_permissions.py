"""Privacy officers and Legal work business transfers (record, announce, record objections, hand over, download the
file); support agents see nothing of them."""

from django.db import migrations

from accounts.roles import role_permissions_grant

WORK = ["view_businesstransfer", "add_businesstransfer", "change_businesstransfer", "publish_businesstransfer",
        "hand_over_businesstransfer", "view_transfersubject", "view_transferobjection", "add_transferobjection",
        "view_transferauditentry", "view_transferhandover"]
GRANTS = {"Privacy officers": WORK, "Legal": WORK}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="transfers", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("transfers", "0001_initial"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
