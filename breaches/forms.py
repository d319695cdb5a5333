"""Staff forms of the breach register. They shape the input; the rules are the services' and come back as errors."""

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.form_errors import service_error_add
from accounts.models import Language, User
from consent.models import DataCategory

from .models import Breach
from .selection import SCOPES
from .services import EDITABLE_FIELDS, breach_record, breach_update, editable_fields

MAX_CLIENT_LIST_BYTES = 2 * 1024 * 1024
_TEXTAREA = forms.Textarea(attrs={"rows": 3, "cols": 70})


def default_client_advice(language: str) -> str:
    with translation.override(language):
        return str(_("Be wary of e-mails, calls and text messages that claim to come from Fulfillmen and ask for "
                     "passwords or payments; change your portal password; tell us if you notice anything unusual."))


class BreachForm(forms.ModelForm):
    """The record. Saving goes through `breach_record` / `breach_update`; fields frozen by a notification are shown
    disabled. The admin sets `actor`."""

    actor = None
    categories = forms.MultipleChoiceField(label=_("Data categories"), choices=DataCategory.choices,
                                           widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Breach
        fields = EDITABLE_FIELDS
        widgets = {name: _TEXTAREA for name in ["nature", "nature_zh", "consequences", "consequences_zh", "measures",
                                                 "measures_zh", "client_advice", "client_advice_zh", "dpo_contact"]}

    def clean_categories(self):
        return sorted(self.cleaned_data["categories"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial.setdefault("dpo_contact", settings.BREACH_DPO_CONTACT)
            self.initial.setdefault("client_advice", default_client_advice(Language.EN))
            self.initial.setdefault("client_advice_zh", default_client_advice(Language.ZH_HANS))
        else:
            open_fields = editable_fields(self.instance)
            for name in EDITABLE_FIELDS:
                if name not in open_fields and name in self.fields:
                    self.fields[name].disabled = True

    def _post_clean(self):
        if self.errors:
            return
        data = {name: self.cleaned_data[name] for name in EDITABLE_FIELDS
                if name in self.cleaned_data and not self.fields[name].disabled}  # a disabled field shows, never sets
        try:
            if self.instance.pk is None:
                self.instance = breach_record(recorded_by=self.actor, **data)
            else:
                self.instance = breach_update(breach=self.instance, actor=self.actor, changes=data)
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(self, exc)


class BreachStepForm(forms.Form):
    def __init__(self, *args, breach: Breach, **kwargs):
        super().__init__(*args, **kwargs)
        self.breach = breach


class SelectionForm(BreachStepForm):
    scope = forms.ChoiceField(label=_("Select"), choices=list(SCOPES.items()), widget=forms.RadioSelect)
    since = forms.DateTimeField(label=_("Window from"), required=False,
                                help_text=_("Date and time, e.g. 2026-03-01 00:00 (not needed for a list of client IDs)."))
    until = forms.DateTimeField(label=_("Window until"), required=False)
    staff = forms.ModelChoiceField(label=_("Staff member"), required=False,
                                   queryset=User.objects.filter(is_staff=True).order_by("email"))
    recipient = forms.CharField(label=_("Recipient"), required=False, max_length=200,
                                help_text=_("The recipient's name exactly as in the sharing records."))
    client_ids = forms.CharField(label=_("Client IDs"), required=False, widget=_TEXTAREA,
                                 help_text=_("Client IDs (UUIDs), separated by commas or one a line."))
    client_file = forms.FileField(label=_("…or a file of client IDs"), required=False,
                                  help_text=_("A text or CSV file with one client ID a line, at most 2 MB."))

    def clean(self):
        data = super().clean()
        upload = data.get("client_file")
        if upload is not None:
            if upload.size > MAX_CLIENT_LIST_BYTES:
                raise ValidationError({"client_file": _("The file is larger than 2 MB.")})
            try:
                data["client_ids"] = (data.get("client_ids") or "") + "\n" + upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ValidationError({"client_file": _("The file is not UTF-8 text.")}) from exc
        return data


class AuthorityNotifiedForm(BreachStepForm):
    notified_at = forms.DateTimeField(label=_("Notified at"))
    authority_name = forms.CharField(label=_("Supervisory authority"), max_length=200)
    reference = forms.CharField(label=_("Authority's reference"), required=False, max_length=200)
    delay_reason = forms.CharField(label=_("Reasons for the delay"), required=False, max_length=4000, widget=_TEXTAREA,
                                   help_text=_("Needed when the notice went later than 72 hours after discovery."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("authority_name", self.breach.authority_name)


class ConfirmForm(BreachStepForm):
    confirm = forms.BooleanField(label=_("I have read the notice and confirm it"))


class CloseForm(BreachStepForm):
    reason = forms.CharField(label=_("Why the breach is closed"), max_length=4000, widget=_TEXTAREA,
                             help_text=_("Without a notice to the authority: why none was needed (GDPR Art. 33(5))."))


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=4000, widget=_TEXTAREA,
                           help_text=_("What was learnt later, or a correction; added with your name and the time."))
