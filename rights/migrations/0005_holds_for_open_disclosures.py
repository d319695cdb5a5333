"""Open disclosures put their clients on hold through LegalHold rows from now on: create them for those open today."""

from django.db import migrations

OPEN = ["received", "under-review", "approved"]


def create(apps, schema_editor):
    Disclosure = apps.get_model("disclosures", "Disclosure")
    LegalHold = apps.get_model("rights", "LegalHold")
    for disclosure in Disclosure.objects.filter(status__in=OPEN):
        held = set(LegalHold.objects.filter(disclosure=disclosure, released_at__isnull=True).values_list("client_id", flat=True))
        LegalHold.objects.bulk_create([
            LegalHold(client_id=client_id, disclosure=disclosure, reason="", set_by_id=disclosure.recorded_by_id)
            for client_id in disclosure.subjects.values_list("client_id", flat=True) if client_id not in held])


class Migration(migrations.Migration):
    dependencies = [("rights", "0004_legal_hold_disclosure"), ("disclosures", "0003_staff_permissions")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
