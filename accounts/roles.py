"""The staff roles. Each app grants its own models' permissions to them in a data migration, through this."""

from django.contrib.auth.management import create_permissions


def role_permissions_grant(apps, *, app_label: str, grants: dict[str, list[str]]) -> None:
    """Give each group in `grants` the listed permissions of `app_label` (idempotent; usable from migrations)."""
    config = apps.get_app_config(app_label)
    # Permissions are normally made after all migrations have run; make this app's now so they can be granted.
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))


LEGAL_GROUP = "Legal"


def sees_withheld_disclosures(user) -> bool:
    """Only Legal, who work the requests, and superusers know of a disclosure while its notice is withheld: for
    everyone else it is absent from every admin list, search, filter, count and export (not merely greyed)."""
    if not getattr(user, "is_authenticated", False) or not user.is_staff:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_sees_withheld_disclosures", None)
    if cached is None:
        cached = user._sees_withheld_disclosures = user.groups.filter(name=LEGAL_GROUP).exists()
    return cached
