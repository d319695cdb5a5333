"""Response deadlines per jurisdiction (rules as data) and the staff roles' permissions on the request queue."""

from django.db import migrations

from accounts.roles import role_permissions_grant

DEADLINES = [
    ("eea", 1, 0, "GDPR Art. 12(3): one month, extendable by two more"),
    ("uk", 1, 0, "UK GDPR Art. 12(3): one month, extendable by two more"),
    ("us-ca", 0, 45, "CCPA §1798.130(a)(2): 45 days, extendable by 45 more"),
    ("cn", 0, 30, "PIPL Art. 50 with GB/T 35273-2020 §8.7: 30 days"),
    ("other", 0, 30, "Fulfillmen default: 30 days"),
]
GRANTS = {
    "Privacy officers": ["view_datasubjectrequest", "add_datasubjectrequest", "change_datasubjectrequest",
                         "view_requestmessage", "add_requestmessage", "view_dataexport",
                         "view_legalhold", "add_legalhold", "change_legalhold", "view_rectification",
                         "view_responsedeadlinerule", "change_responsedeadlinerule"],
    "Support agents": ["view_datasubjectrequest", "add_datasubjectrequest", "change_datasubjectrequest",
                       "view_requestmessage", "add_requestmessage", "view_legalhold", "view_rectification"],
    "Legal": ["view_datasubjectrequest", "view_requestmessage", "view_legalhold", "add_legalhold", "change_legalhold"],
}


def load(apps, schema_editor):
    Rule = apps.get_model("rights", "ResponseDeadlineRule")
    for jurisdiction, months, days, law in DEADLINES:
        Rule.objects.get_or_create(jurisdiction=jurisdiction, defaults=dict(months=months, days=days, law=law))
    role_permissions_grant(apps, app_label="rights", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("rights", "0001_initial"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
