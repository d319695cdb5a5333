"""Sign-up age rules (issue #18.12): the model, the ages the laws set, and who may edit them; the fields a younger
client's sign-up keeps while it waits for the guardian's consent."""

import django.core.validators
import django_countries.fields
from django.db import migrations, models

from accounts.roles import role_permissions_grant

RULES = [  # (jurisdiction, country, minimum age, legal source)
    ("cn", "", 14, "PIPL Art. 28, 31: under 14 is sensitive personal information; a guardian consents"),
    ("eea", "", 16, "GDPR Art. 8(1): 16 unless a member state sets 13-15 (add a country rule for it)"),
    ("uk", "", 13, "UK GDPR Art. 8; Data Protection Act 2018 s. 9"),
    ("", "US", 13, "COPPA, 15 U.S.C. 6501-6506: verifiable parental consent under 13"),
]
GRANTS = {
    "Privacy officers": ["view_signupagerule", "add_signupagerule", "change_signupagerule", "delete_signupagerule"],
    "Legal": ["view_signupagerule"],
}


def load(apps, schema_editor):
    Rule = apps.get_model("accounts", "SignupAgeRule")
    for jurisdiction, country, age, note in RULES:
        Rule.objects.get_or_create(jurisdiction=jurisdiction, country=country,
                                   defaults={"minimum_age": age, "note": note})
    role_permissions_grant(apps, app_label="accounts", grants=GRANTS)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0009_pending_signup'),
    ]

    operations = [
        migrations.AddField(
            model_name='pendingsignup',
            name='email_confirmed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='pendingsignup',
            name='guardian_email',
            field=models.EmailField(blank=True, max_length=254),
        ),
        migrations.AddField(
            model_name='pendingsignup',
            name='guardian_name',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='pendingsignup',
            name='minimum_age',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name='SignupAgeRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('jurisdiction', models.CharField(blank=True, choices=[('eea', 'EU / EEA (GDPR)'), ('uk', 'United Kingdom (UK GDPR)'), ('cn', 'China (PIPL)'), ('us-ca', 'California (CCPA/CPRA)'), ('other', 'Other')], help_text='Every country of this jurisdiction, unless a country has its own rule.', max_length=8, verbose_name='jurisdiction')),
                ('country', django_countries.fields.CountryField(blank=True, help_text="Only this country (beats its jurisdiction's rule).", max_length=2, verbose_name='country')),
                ('minimum_age', models.PositiveSmallIntegerField(help_text='Younger clients sign up only with the consent of a parent or guardian.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(21)], verbose_name='minimum age')),
                ('note', models.CharField(blank=True, help_text='e.g. PIPL Art. 31', max_length=200, verbose_name='legal source')),
            ],
            options={
                'verbose_name': 'sign-up age rule',
                'verbose_name_plural': 'sign-up age rules',
                'ordering': ['jurisdiction', 'country'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('jurisdiction', ''), models.Q(('country', ''), _negated=True)), models.Q(models.Q(('jurisdiction', ''), _negated=True), ('country', '')), _connector='OR'), name='signup_age_rule_country_or_jurisdiction', violation_error_message='Name either a country or a jurisdiction, not both.'), models.UniqueConstraint(condition=models.Q(('country', '')), fields=('jurisdiction',), name='signup_age_rule_one_per_jurisdiction', violation_error_message='This jurisdiction has a rule already.'), models.UniqueConstraint(condition=models.Q(('country', ''), _negated=True), fields=('country',), name='signup_age_rule_one_per_country', violation_error_message='This country has a rule already.')],
            },
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
