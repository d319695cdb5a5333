"""Legal works disclosures; privacy officers read them; support agents never see them."""

from django.db import migrations

from accounts.roles import role_permissions_grant

GRANTS = {
    "Legal": ["view_disclosure", "add_disclosure", "change_disclosure",
              "view_disclosuresubject", "add_disclosuresubject", "change_disclosuresubject",
              "view_disclosureauditentry", "view_disclosurenote", "add_disclosurenote",
              "view_disclosuredocument", "add_disclosuredocument"],
    "Privacy officers": ["view_disclosure", "view_disclosuresubject", "view_disclosureauditentry",
                         "view_disclosurenote", "view_disclosuredocument"],
}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="disclosures", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("disclosures", "0002_disclosure_authority_address_and_more"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
