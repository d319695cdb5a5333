"""Forms that turn the services' ValidationErrors into messages next to the right field."""

import uuid
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
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


class SignupConfirmForm(forms.Form):
    """The sign-up link asks for the password again: only who chose it can turn the sign-up into an account.
    Where an age rule applies to the client's country (accounts/minors.py), it also asks whether they are that old,
    and a younger client names the parent or guardian whose consent the account waits for."""

    OF_AGE, YOUNGER = "of-age", "younger"

    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}))

    def __init__(self, *args, minimum_age: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.minimum_age = minimum_age
        if minimum_age is None:
            return
        age = {"age": minimum_age}
        self.fields["age"] = forms.ChoiceField(
            label=_("Are you %(age)s or older?") % age, widget=forms.RadioSelect,
            choices=[(self.OF_AGE, _("Yes, I am %(age)s or older") % age),
                     (self.YOUNGER, _("No, I am younger than %(age)s: my parent or guardian will consent") % age)],
            error_messages={"required": _("Please say whether you are %(age)s or older.") % age},
            help_text=_("Where you live, the law lets you open an account yourself from the age of %(age)s; "
                        "below it, a parent or guardian must consent first.") % age)
        self.fields["guardian_name"] = forms.CharField(
            label=_("Name of your parent or guardian (only if you are younger)"), required=False, max_length=200)
        self.fields["guardian_email"] = forms.EmailField(
            label=_("E-mail address of your parent or guardian (only if you are younger)"), required=False,
            max_length=254, help_text=_("We send them a link to consent; the account is created only when they do."))

    def apply_service_errors(self, error: ValidationError):
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)

    @property
    def younger(self) -> bool:
        return self.minimum_age is not None and self.cleaned_data.get("age") == self.YOUNGER

    def clean(self):
        data = super().clean()
        if self.minimum_age is not None and data.get("age") == self.YOUNGER:
            if not (data.get("guardian_name") or "").strip():
                self.add_error("guardian_name", _("Please give the name of your parent or guardian."))
            if not data.get("guardian_email") and "guardian_email" not in self.errors:
                self.add_error("guardian_email", _("Enter the e-mail address of your parent or guardian."))
        return data


class GuardianConsentForm(forms.Form):
    """The parent's or guardian's answer on their link: consent (with the box ticked) or refuse."""

    confirm = forms.BooleanField(required=False, label=_(
        "I am the parent or guardian of this person and I consent to Fulfillmen processing their personal "
        "information as its privacy policy describes."))

    def clean(self):
        data = super().clean()
        if self.data.get("decision") == "consent" and not data.get("confirm"):
            self.add_error("confirm", _("Tick the box to confirm that you are their parent or guardian and consent."))
        elif self.data.get("decision") not in ("consent", "refuse"):
            raise ValidationError(_("Choose whether you consent or refuse."))
        return data

    @property
    def consents(self) -> bool:
        return self.data.get("decision") == "consent"


class ClientAdminForm(forms.ModelForm):
    """Staff edit clients with the same phone validation as the portal. The e-mail address is typed only when a
    client is added; on an existing client it changes only through a confirmed link (EmailChangeStartForm). The
    linked login is no field at all: nobody links a login to a client in the admin (issue #16.5)."""

    correction_channel = forms.ChoiceField(
        label=_("The client asked for this correction by"), required=False, initial="email",
        choices=[("email", _("E-mail")), ("letter", _("Letter")), ("phone", _("Phone"))],
        help_text=_("A corrected name, phone number or address is recorded as a rectification request received this "
                    "way; every company that received the old value is told to update it, and the client is e-mailed."))

    class Meta:
        model = Client
        fields = ["full_name", "email", "phone", "country", "region", "preferred_language"]

    def clean_phone(self):
        return phone_to_e164(self.cleaned_data.get("phone", ""), default_region=str(self.data.get("country") or ""))


class EmailChangeStartForm(forms.Form):
    """The admin's "Change the e-mail address…" page: staff ask for a change; only the client's link applies it."""

    new_email = forms.EmailField(label=_("New e-mail address"), max_length=254, help_text=_(
        "A link goes to this address and a notice to the current one. The address changes only when the client "
        "opens the link and confirms with their password."))


class EmailChangeConfirmForm(forms.Form):
    """The confirmation page: the account's password, so that whoever reads the new mailbox cannot confirm alone.
    A client without a login has no password to give; their link alone confirms."""

    password = forms.CharField(label=_("Your password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, user, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.request = user, request
        if user is None:
            del self.fields["password"]

    def clean_password(self):
        password = self.cleaned_data["password"]
        # Through authenticate(), so that django-axes counts and locks out guesses as on the log-in page.
        if authenticate(self.request, username=self.user.email, password=password) != self.user:
            raise ValidationError(_("That is not the password of this account."), code="wrong_password")
        return password


class StaffUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class StaffUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the email becomes a delivery row sent by a worker (and wiped once sent).

    The link is built from SITE_URL, never from the request's Host (or X-Forwarded-Host): a forged header would
    otherwise mail the victim a genuine token on a link to the attacker's site (issue #16.7)."""

    def save(self, **kwargs):
        site = urlsplit(settings.SITE_URL)
        kwargs.update(domain_override=site.netloc, use_https=site.scheme == "https",
                      extra_email_context={**(kwargs.get("extra_email_context") or {}), "site_url": settings.SITE_URL})
        return super().save(**kwargs)

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None):
        client = Client.objects.filter(user=context["user"]).first()
        with translation.override(client.preferred_language if client else translation.get_language()):
            subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
            body = loader.render_to_string(email_template_name, context)
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="password-reset", to=to_email, subject=subject, body=body,
                      client=client, idempotency_key=f"password-reset:{uuid.uuid4()}", wipe_body_after_send=True)
