"""Staff forms of the disclosures admin: the request itself, the four decisions, notes and documents.

The forms only shape the input. Every rule (four eyes, PRC approval, immutability) is the services' and comes back
as a ValidationError or PermissionDenied, which `service_error_add` puts on the form instead of a 500.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.form_errors import service_error_add  # noqa: F401  (re-exported for views)
from accounts.models import Client
from consent.models import DataCategory

from .models import Disclosure, DisclosureDocument, DisclosureSubject
from .services import EDITABLE_FIELDS, disclosure_record, disclosure_update, foreign_approval_needed, legal_basis_for


class DisclosureForm(forms.ModelForm):
    """The request as received. Saving it is the service's work: `disclosure_record` for a new request,
    `disclosure_update` for a correction before the decision. The admin sets `actor`."""

    actor = None

    authority_country = forms.ChoiceField(label=_("Authority's country"), choices=[("", "---------"), *countries])
    categories_requested = forms.MultipleChoiceField(
        label=_("Data requested"), choices=DataCategory.choices, widget=forms.CheckboxSelectMultiple,
        help_text=_("Only what the request names; what is finally handed over is recorded per client."))
    legal_basis = forms.ChoiceField(
        label=_("Legal basis"), required=False,
        choices=[("", _("Follows from the request type")), *Disclosure.LegalBasis.choices],
        help_text=_("Prevention of claims: legal claims; emergency: vital interests; any other type: legal obligation. "
                    "Choose another only when the request says so (e.g. a claim pursued through a court order). The "
                    "sharing records and the client's notice name this basis."))
    clients = forms.ModelMultipleChoiceField(
        label=_("Clients concerned"), queryset=Client.objects.all(),
        widget=AutocompleteSelectMultiple(DisclosureSubject._meta.get_field("client"), admin.site),
        help_text=_("Search by name, email address, phone number or client ID (UUID)."),
        error_messages={"required": _("Name at least one client concerned.")})

    class Meta:
        model = Disclosure
        fields = [*EDITABLE_FIELDS, "clients"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "clients" in self.fields:
            self.initial.setdefault("clients", list(self.instance.subjects.values_list("client_id", flat=True)))
        if self.instance.pk and self.instance.legal_basis == legal_basis_for(request_type=self.instance.request_type):
            self.initial["legal_basis"] = ""  # derived: it follows a corrected request type

    def clean_categories_requested(self):
        return sorted(self.cleaned_data["categories_requested"])

    def _post_clean(self):
        # Model validation and the write belong to the service. It runs here, while a refusal can still become this
        # form's error: the admin calls save_model only for a valid form. The admin view's transaction holds both.
        if self.errors:
            return
        data = {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}
        clients = list(self.cleaned_data["clients"])
        try:
            if self.instance.pk is None:
                self.instance = disclosure_record(recorded_by=self.actor, clients=clients, **data)
            else:
                self.instance = disclosure_update(disclosure=self.instance, actor=self.actor, changes=data, clients=clients)
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(self, exc)


def _reason_field(label, help_text, *, required=True):
    return forms.CharField(label=label, help_text=help_text, required=required, max_length=4000,
                           widget=forms.Textarea(attrs={"rows": 4, "cols": 70}))


class DisclosureDecisionForm(forms.Form):
    """The base of the decision forms, and on its own the "Submit for review" form: nothing to fill in."""

    def __init__(self, *args, disclosure: Disclosure, **kwargs):
        super().__init__(*args, **kwargs)
        self.disclosure = disclosure


class DisclosureApproveForm(DisclosureDecisionForm):
    reason = _reason_field(_("Why the request is lawful"), _("The legal basis you checked; it is kept in the audit trail."))
    prc_approval_reference = forms.CharField(
        label=_("PRC approval reference"), required=False, max_length=200,
        help_text=_("The approval of the competent PRC authority for providing data stored in China to a foreign "
                    "judicial or law-enforcement body (PIPL Art. 41, Data Security Law Art. 36)."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not foreign_approval_needed(self.disclosure):
            del self.fields["prc_approval_reference"]


class DisclosureRejectForm(DisclosureDecisionForm):
    reason = _reason_field(_("Why the request is rejected"), _("Sent to nobody; kept in the audit trail."), required=False)


class DisclosedCategoriesForm(DisclosureDecisionForm):
    """Per client, the requested categories actually handed over. A client with none ticked got nothing."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        requested = [(c, DataCategory(c).label) for c in self.disclosure.categories_requested if c in DataCategory.values]
        subjects = self.disclosure.subjects.select_related("client").order_by("client__full_name", "pk")
        for subject in subjects:
            self.fields[f"client_{subject.client_id}"] = forms.MultipleChoiceField(
                label=str(subject.client), choices=requested, required=False, widget=forms.CheckboxSelectMultiple)

    def disclosed(self) -> dict[int, list[str]]:
        return {int(name.removeprefix("client_")): values for name, values in self.cleaned_data.items() if values}


class DisclosureNoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
                           help_text=_("A correction or remark; it is added with your name and the time, and never edited."))


class DisclosureDocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=DisclosureDocument.Kind.choices)
    file = forms.FileField(label=_("File"), help_text=_("PDF, PNG or JPEG, at most 10 MB."))
