"""Consent forms: staff record an opt-out or opt-in received by email or letter, import CSV; visitors say "do not sell"."""

import hashlib
import json
import uuid

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AdminRadioSelect
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Client
from accounts.uploads import document_upload_check

from .impact_hooks import impact_assessment_refusal
from .imports import MAX_BYTES, consent_import_decode
from .models import Channel, ConsentAction, LegalBasis, Purpose

MAX_SCAN_BYTES = 5 * 1024 * 1024
IMPORT_SIGNING_SALT = "consent.csv-import"
IMPORT_PREVIEW_MAX_AGE = 60 * 60  # seconds between preview and confirm


def client_by_reference(value: str) -> Client | None:
    """The client named by an email address (any case) or by the client ID (public UUID)."""
    value = (value or "").strip()
    try:
        return Client.objects.filter(public_id=uuid.UUID(value)).first()
    except ValueError:
        return Client.objects.filter(email__iexact=value).first() if value else None


class OfflineConsentForm(forms.Form):
    client = forms.CharField(
        label=_("Client"), max_length=254,
        help_text=_("The client's email address or client ID (the UUID shown on the client's page)."),
    )
    purpose = forms.ModelChoiceField(
        label=_("Purpose"), queryset=Purpose.objects.filter(legal_basis=LegalBasis.CONSENT),
        help_text=_("Only purposes that rest on consent can be given or withdrawn."),
    )
    action = forms.ChoiceField(
        label=_("What the client asked for"), initial=ConsentAction.WITHDRAW,
        widget=AdminRadioSelect(attrs={"class": "radiolist"}),
        choices=[(ConsentAction.WITHDRAW, _("Withdraw consent (opt out)")), (ConsentAction.GRANT, _("Give consent (opt in)"))],
    )
    channel = forms.ChoiceField(
        label=_("Received by"), widget=AdminRadioSelect(attrs={"class": "radiolist inline"}),
        choices=[(Channel.EMAIL, _("Email")), (Channel.LETTER, _("Letter"))],
    )
    received_on = forms.DateField(
        label=_("Date received"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("The day the email or letter reached us; the change counts from then."),
    )
    reference = forms.CharField(
        label=_("Reference"), max_length=200,
        help_text=_("Where the original is kept, e.g. the ticket number or the letter's file number."),
    )
    scan = forms.FileField(label=_("Scan or copy (optional)"), required=False,
                           help_text=_("PDF, PNG or JPEG, at most 5 MB."))
    reason = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))
    # A random value per displayed form: submitting the same form twice records one event, not two.
    submission = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission", uuid.uuid4().hex)
            self.initial.setdefault("received_on", timezone.localdate())

    def clean_client(self):
        client = client_by_reference(self.cleaned_data["client"])
        if client is None:
            raise forms.ValidationError(
                _("No client has the email address or client ID “%(value)s”. Check the spelling, or search the clients list."),
                code="unknown_client", params={"value": self.cleaned_data["client"].strip()},
            )
        if client.erased_at:  # erased on request: there is nobody left whose consent to record
            raise forms.ValidationError(_("This client's data has already been erased."),
                                        code="erased_client")
        return client

    def clean_received_on(self):
        received = self.cleaned_data["received_on"]
        if received > timezone.localdate():
            raise forms.ValidationError(_("The date received cannot be in the future."), code="future")
        return received

    def clean_scan(self):
        scan = self.cleaned_data.get("scan")
        return document_upload_check(scan, max_bytes=MAX_SCAN_BYTES) if scan else None

    def clean(self):
        cleaned = super().clean()
        purpose = cleaned.get("purpose")
        if purpose and cleaned.get("action") == ConsentAction.WITHDRAW and not purpose.withdrawable:
            self.add_error("purpose", _("“%(purpose)s” cannot be withdrawn.") % {"purpose": purpose.title})
        return cleaned

    def idempotency_key(self) -> str | None:
        """The same displayed form submitted twice with the same content is one event; anything else is new."""
        data = self.cleaned_data
        if not data.get("submission"):
            return None
        parts = ["staff-entry", data["submission"], str(data["client"].public_id), data["purpose"].code, data["action"],
                 data["channel"], data["received_on"].isoformat(), data["reference"]]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


class ConsentCsvUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, header “client,purpose,channel,received,reference”, at most 10,000 rows and 2 MB."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB. Split it into smaller files and import each one."))
        return consent_import_decode(data=upload.read())


def sign_import_text(*, text: str, user) -> str:
    """The previewed file, carried to the confirm step in a hidden field the browser cannot alter unnoticed."""
    return signing.dumps(text, salt=f"{IMPORT_SIGNING_SALT}:{user.pk}", compress=True)


def import_payload_fits(payload: str) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is None or len(payload) < limit - 64 * 1024


class ConsentCsvConfirmForm(forms.Form):
    payload = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_payload(self):
        try:
            return signing.loads(self.cleaned_data["payload"], salt=f"{IMPORT_SIGNING_SALT}:{self.user.pk}",
                                 max_age=IMPORT_PREVIEW_MAX_AGE)
        except signing.SignatureExpired as exc:
            raise forms.ValidationError(_("This preview is more than an hour old; upload the file again.")) from exc
        except signing.BadSignature as exc:
            raise forms.ValidationError(_("The preview could not be verified; upload the file again.")) from exc


class PurposeForm(forms.ModelForm):
    """The catalogue entry as `purpose_save` accepts it: a purpose that becomes sensitive, automated or abroad needs an
    approved, current impact assessment first (PIPL Art. 55; consent/impact_hooks.py), said next to the flags."""

    class Meta:
        model = Purpose
        fields = "__all__"

    def clean(self):
        data = super().clean()
        stored = Purpose.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        newly = {flag for flag in Purpose.IMPACT_ASSESSMENT_FLAGS
                 if data.get(flag) and not (stored and getattr(stored, flag))}
        if newly:
            candidate = stored or self.instance  # a copy from the database, or the new purpose: as it would be saved
            for flag in Purpose.IMPACT_ASSESSMENT_FLAGS:
                setattr(candidate, flag, bool(data.get(flag)))
            refusal = impact_assessment_refusal(purpose=candidate)
            if refusal:
                for flag in sorted(newly):
                    self.add_error(flag, refusal)
        return data


class DoNotSellRequestForm(forms.Form):
    """The "Do Not Sell or Share" request of a visitor without a session: only what finds them (11 CCR 7026(c))."""

    email = forms.EmailField(label=_("The e-mail address you use with Fulfillmen"), max_length=254,
                             help_text=_("We send a link to this address; your opt-out takes effect when you open it."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
