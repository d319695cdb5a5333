"""Two more legal bases of disclosures (issue #18.11): a purpose for legal claims (legitimate interest, the seed's
"to prevent against potential or actual claims") and one for emergencies (vital interests), in both languages."""

from django.db import migrations, models

ALL = ["name", "email", "phone", "ip_address", "shipping_address"]
PURPOSES = [
    dict(code="legal-claims", display_order=91, legal_basis="legitimate-interest", data_categories=ALL,
         recipient_class="claim-parties", withdrawable=False,
         title_en="Preventing and defending legal claims", title_zh_hans="防范和应对法律索赔",
         description_en="To prevent, establish, exercise or defend potential or actual legal claims, we may disclose "
                        "data to a court, to a party to the claim or to our lawyers. Each disclosure is recorded and "
                        "shown to you unless the law forbids it for a time.",
         description_zh_hans="为防范、提出、行使或抗辩潜在或实际的法律索赔，我们可能向法院、索赔相关方或我们的律师披露数据。"
                             "每次披露都会被记录并向您展示，除非法律在一定期限内禁止。"),
    dict(code="vital-interests", display_order=92, legal_basis="vital-interests", data_categories=ALL,
         recipient_class="authorities", withdrawable=False,
         title_en="Protecting life and safety in an emergency", title_zh_hans="紧急情况下保护生命和安全",
         description_en="When someone's life, health or safety is in danger, we may disclose data to the emergency "
                        "services or authorities that can help. Each disclosure is recorded and shown to you unless "
                        "the law forbids it for a time.",
         description_zh_hans="当有人的生命、健康或安全面临危险时，我们可能向能够提供帮助的紧急救援机构或有关部门披露数据。"
                             "每次披露都会被记录并向您展示，除非法律在一定期限内禁止。"),
]


def load(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    for purpose in PURPOSES:
        Purpose.objects.get_or_create(code=purpose["code"], defaults={k: v for k, v in purpose.items() if k != "code"})


def unload(apps, schema_editor):
    apps.get_model("consent", "Purpose").objects.filter(code__in=[p["code"] for p in PURPOSES]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0009_purpose_impact_assessment_flags'),
    ]

    operations = [
        migrations.AlterField(
            model_name='purpose',
            name='legal_basis',
            field=models.CharField(choices=[('consent', 'Consent'), ('contract', 'Contract'), ('legitimate-interest', 'Legitimate interest'), ('legal-obligation', 'Legal obligation'), ('vital-interests', 'Vital interests')], max_length=24),
        ),
        migrations.AlterField(
            model_name='purpose',
            name='recipient_class',
            field=models.CharField(choices=[('none', 'Nobody outside Fulfillmen'), ('affiliates', 'Affiliated companies'), ('dropship-partners', 'Drop-shipping partners'), ('acquirer', 'An acquirer in a business transfer'), ('authorities', 'Law enforcement and government authorities'), ('claim-parties', 'Courts, parties to a claim and their lawyers')], default='none', max_length=24),
        ),
        migrations.RunPython(load, unload),
    ]
