from django.db import migrations

from accounts.roles import role_permissions_grant

GRANTS = {
    "Privacy officers": ["view_purpose", "change_purpose", "view_consentdefaultrule", "add_consentdefaultrule",
                         "change_consentdefaultrule", "delete_consentdefaultrule", "view_consentevent", "view_consentstate",
                         "record_offline_consent", "import_consent_csv"],
    "Support agents": ["view_purpose", "view_consentevent", "view_consentstate", "record_offline_consent"],
    "Legal": ["view_purpose", "view_consentdefaultrule", "view_consentevent", "view_consentstate"],
}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="consent", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("consent", "0003_ledger_append_only_trigger"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
