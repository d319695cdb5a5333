"""The three staff roles. Apps above add their own models' permissions to these groups in their migrations."""

from django.db import migrations

from accounts.roles import role_permissions_grant

ROLE_PERMISSIONS = {
    "Privacy officers": [
        "view_client", "change_client", "add_client",
        "view_address", "add_address", "change_address", "delete_address",
        "view_ipobservation", "view_user",
    ],
    "Legal": ["view_client", "view_address", "view_ipobservation"],
    "Support agents": [
        "view_client", "change_client",
        "view_address", "add_address", "change_address",
        "view_ipobservation",
    ],
}


def create_groups(apps, schema_editor):
    role_permissions_grant(apps, app_label="accounts", grants=ROLE_PERMISSIONS)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
