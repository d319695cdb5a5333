"""Each disclosure names its legal basis (issue #18.11). Requests not yet handed over take the basis their type
implies; those already disclosed keep legal obligation, which their sharing records name."""

from django.db import migrations, models


def derive(apps, schema_editor):
    Disclosure = apps.get_model("disclosures", "Disclosure")
    undisclosed = Disclosure.objects.filter(disclosed_at__isnull=True)
    undisclosed.filter(request_type="claims").update(legal_basis="legal-claims")
    undisclosed.filter(request_type="emergency").update(legal_basis="vital-interests")


class Migration(migrations.Migration):

    dependencies = [
        ('disclosures', '0004_transparency_periods'),
        ('consent', '0010_disclosure_purposes'),
    ]

    operations = [
        migrations.AddField(
            model_name='disclosure',
            name='legal_basis',
            field=models.CharField(choices=[('legal-obligation', 'Legal obligation (GDPR Art. 6(1)(c); PIPL Art. 13(3))'), ('legal-claims', 'Legitimate interest: establishing, exercising or defending legal claims (GDPR Art. 6(1)(f), 9(2)(f))'), ('vital-interests', "Vital interests: protecting someone's life or safety in an emergency (GDPR Art. 6(1)(d); PIPL Art. 13(4))")], default='legal-obligation', help_text='Left empty on the form, it follows from the request type: prevention of claims = legal claims, emergency = vital interests, any other = legal obligation.', max_length=20),
        ),
        migrations.RunPython(derive, migrations.RunPython.noop),
    ]
