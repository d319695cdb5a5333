"""Forms that turn the services' ValidationErrors into messages next to the right field."""

import uuid

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm, PasswordResetForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from notify.models import OutboundMessage
from notify.services import message_queue

from .models import Client, Language, User
from .phones import phone_to_e164


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))


class SignUpForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(
        label=_("Mobile phone (optional)"),
        required=False,
        help_text=_("With the country code, e.g. +86 138 0013 8000. We send policy-change notices here."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    country = LazyTypedChoiceField(label=_("Country of residence"), choices=lambda: [("", "—"), *countries])
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=Language.choices, initial=Language.EN)
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data

    def apply_service_errors(self, error: ValidationError):
        mapping = {"password": "password1"}  # nosec B105  # form field names, not a password
        for field, messages in error.message_dict.items():
            self.add_error(mapping.get(field, field) if field in self.fields or field in mapping else None, messages)


class ClientAdminForm(forms.ModelForm):
    """Staff edit clients with the same phone validation as the portal."""

    class Meta:
        model = Client
        fields = ["full_name", "email", "phone", "country", "region", "preferred_language", "user"]

    def clean_phone(self):
        return phone_to_e164(self.cleaned_data.get("phone", ""), default_region=str(self.data.get("country") or ""))


class StaffUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class StaffUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the email becomes a delivery row sent by a worker (and wiped once sent)."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None):
        client = Client.objects.filter(user=context["user"]).first()
        with translation.override(client.preferred_language if client else translation.get_language()):
            subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
            body = loader.render_to_string(email_template_name, context)
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="password-reset", to=to_email, subject=subject, body=body,
                      client=client, idempotency_key=f"password-reset:{uuid.uuid4()}", wipe_body_after_send=True)
