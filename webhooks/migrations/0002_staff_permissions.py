"""The partner managers (a new staff role, issue #19) manage recipients' webhook endpoints and work the delivery
log; privacy officers and Legal may read it."""

from django.db import migrations

from accounts.roles import role_permissions_grant

GRANTS = {
    "Partner managers": ["view_webhookendpoint", "add_webhookendpoint", "change_webhookendpoint",
                         "view_webhookdelivery", "change_webhookdelivery", "view_webhookevent", "view_webhookattempt"],
    "Privacy officers": ["view_webhookendpoint", "view_webhookdelivery", "view_webhookevent", "view_webhookattempt"],
    "Legal": ["view_webhookendpoint", "view_webhookdelivery", "view_webhookevent", "view_webhookattempt"],
}
SHARING_GRANTS = {"Partner managers": ["view_affiliate", "view_sharingagreement"]}


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="webhooks", grants=GRANTS)
    role_permissions_grant(apps, app_label="sharing", grants=SHARING_GRANTS)


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("accounts", "0002_staff_groups"), ("sharing", "0009_sharingagreement_tells_grants")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
