"""Staff forms of the business-transfer admin. They only shape the input; every rule is the services' and comes back
as a ValidationError or PermissionDenied, shown on the form (`service_error_add`)."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.form_errors import service_error_add
from accounts.jurisdictions import Jurisdiction
from accounts.models import Client
from consent.models import DataCategory
from sharing.models import Affiliate

from .models import BusinessTransfer, TransferObjection
from .services import EDITABLE_FIELDS, transfer_record, transfer_update


class BusinessTransferForm(forms.ModelForm):
    """The transfer as announced. Saved by `transfer_record` / `transfer_update` while validated; the admin sets
    `actor`."""

    actor = None

    acquirer_country = forms.ChoiceField(label=_("acquirer's country"), choices=[("", "---------"), *countries])
    data_categories = forms.MultipleChoiceField(label=_("data handed over"), choices=DataCategory.choices,
                                                widget=forms.CheckboxSelectMultiple)
    scope_countries = forms.MultipleChoiceField(
        label=_("only clients living in"), choices=list(countries), required=False,
        help_text=_("Leave both filters empty for every client. A client matching either filter is concerned."))
    scope_jurisdictions = forms.MultipleChoiceField(label=_("only clients under"), choices=Jurisdiction.choices,
                                                    required=False, widget=forms.CheckboxSelectMultiple)
    affiliate = forms.ModelChoiceField(label=_("acquirer in the recipient catalogue"), required=False,
                                       queryset=Affiliate.objects.filter(kind=Affiliate.Kind.BUSINESS_TRANSFER))

    class Meta:
        model = BusinessTransfer
        fields = EDITABLE_FIELDS
        widgets = {"handover_on": forms.DateInput(attrs={"type": "date"}),
                   "objection_deadline": forms.DateInput(attrs={"type": "date"})}

    def _post_clean(self):
        if self.errors:
            return
        data = {name: self.cleaned_data.get(name) for name in EDITABLE_FIELDS}
        for name in ("new_purpose_en", "new_purpose_zh_hans"):
            data[name] = data[name] or ""
        try:
            if self.instance.pk is None:
                self.instance = transfer_record(recorded_by=self.actor, **data)
            else:
                self.instance = transfer_update(transfer=self.instance, actor=self.actor, changes=data)
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(self, exc)


class StepForm(forms.Form):
    """Announce or hand over: nothing to fill in; the page says what will happen."""


class ObjectionForm(forms.Form):
    client_reference = forms.CharField(label=_("Client"), max_length=254,
                                       help_text=_("The client's e-mail address or client reference (UUID)."))
    channel = forms.ChoiceField(label=_("Received by"), choices=[
        (TransferObjection.Channel.EMAIL, TransferObjection.Channel.EMAIL.label),
        (TransferObjection.Channel.LETTER, TransferObjection.Channel.LETTER.label)])
    received_on = forms.DateField(label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"}))
    reference = forms.CharField(label=_("Filing reference"), max_length=100, required=False,
                                help_text=_("Where the e-mail or letter is filed (no personal data)."))

    def clean_client_reference(self):
        value = self.cleaned_data["client_reference"].strip()
        clients = Client.objects.filter(erased_at__isnull=True)
        client = (clients.filter(email__iexact=value).first() if "@" in value
                  else clients.filter(public_id=value).first() if _is_uuid(value) else None)
        if client is None:
            raise ValidationError(_("No client has this e-mail address or reference."))
        return client


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
