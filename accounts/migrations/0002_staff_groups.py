"""The three staff roles. Apps above add their own models' permissions to these groups in their migrations."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

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
    # Permissions are normally made after all migrations; make this app's now so they can be granted.
    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
