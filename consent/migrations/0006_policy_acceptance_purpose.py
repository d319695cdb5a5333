"""The purpose under which a client's answer to a material policy change is recorded in the consent ledger.

Accepting a pending version is a `grant`, objecting is a `withdraw`, each event naming the version answered
(REQUIREMENTS §4: clients can object before a material change takes effect; WP260).
"""

from django.db import migrations

POLICY_ACCEPTANCE = dict(
    code="policy-acceptance", display_order=5, legal_basis="consent", data_categories=[], recipient_class="none",
    withdrawable=True,
    title_en="Acceptance of privacy policy changes", title_zh_hans="接受隐私政策变更",
    description_en="Your answer to each material change of this privacy policy: you accept the new version, or you "
                   "object to it before it takes effect. Each answer is recorded with the version it concerns.",
    description_zh_hans="您对本隐私政策每次重大变更的答复：接受新版本，或在其生效前提出反对。每次答复都会连同所涉版本一起记录。",
)


def load(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    fields = dict(POLICY_ACCEPTANCE)
    Purpose.objects.update_or_create(code=fields.pop("code"), defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("consent", "0005_purpose_introduced_in")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
