"""Admin forms for sharing. They check what the services check, so staff see each error next to its field; the
admin then calls the service (`affiliate_save`, `agreement_create`, `affiliate_key_create`), never `.save()`."""

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.impact_hooks import impact_assessment_refusal
from consent.models import DataCategory, Purpose, RecipientClass

from .models import Affiliate, RecipientConsent, SharingAgreement
from .services import PROCESSOR_RECIPIENT_CLASSES, affiliate_kind_error, agreement_kind_error

# Purposes whose recipients sit outside Fulfillmen and receive data under a signed agreement. Authorities are
# answered one request at a time (disclosures), never through a standing agreement — but a processor works for
# Fulfillmen's own purposes, those included (its processor agreement).
AGREEMENT_RECIPIENT_CLASSES = [RecipientClass.AFFILIATES, RecipientClass.DROPSHIP_PARTNERS, RecipientClass.ACQUIRER]


class AffiliateForm(forms.ModelForm):
    """The affiliate's kind may not change while it holds an agreement the new kind may not hold; and turning an
    inactive recipient back on is refused, as `affiliate_save` refuses it, without an approved and current impact
    assessment (PIPL Art. 55; consent/impact_hooks.py): each error stands next to its field."""

    class Meta:
        model = Affiliate
        fields = "__all__"

    def clean(self):
        data = super().clean()
        instance = self.instance
        if instance.pk and data.get("kind"):
            error = affiliate_kind_error(affiliate=instance, kind=data["kind"])
            if error:
                self.add_error("kind", error)
        if data.get("active") and instance.pk and Affiliate.objects.filter(pk=instance.pk, active=False).exists():
            refusal = impact_assessment_refusal(recipient=instance)
            if refusal:
                self.add_error("active", refusal)
        return data


class SharingAgreementForm(forms.ModelForm):
    """A new agreement, as `agreement_create` accepts it: a non-empty set of known fields, an end after the start,
    and (the policy's promise) no field the purpose does not name."""

    shared_fields = forms.MultipleChoiceField(
        label=_("Data shared"), choices=DataCategory.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one kind of data.")},
    )

    class Meta:
        model = SharingAgreement
        fields = ["purpose", "valid_from", "valid_until", "reference", "tells_grants"]

    def __init__(self, *args, affiliate: Affiliate | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.affiliate = affiliate
        if "purpose" in self.fields:
            field = self.fields["purpose"]
            field.queryset = Purpose.objects.filter(
                recipient_class__in=[*AGREEMENT_RECIPIENT_CLASSES, *PROCESSOR_RECIPIENT_CLASSES])
            for link in ("can_add_related", "can_change_related", "can_view_related", "can_delete_related"):
                if hasattr(field.widget, link):  # the catalogue is edited on its own page, not from an agreement
                    setattr(field.widget, link, False)

    def clean(self):
        data = super().clean()
        start, end, purpose = data.get("valid_from"), data.get("valid_until"), data.get("purpose")
        if start and end and end <= start:
            self.add_error("valid_until", _("An agreement must end after it starts."))
        kind = self._affiliate_kind()
        if purpose and kind:
            error = agreement_kind_error(kind=kind, purpose=purpose)
            if error:
                self.add_error("purpose", error)
        chosen = data.get("shared_fields") or []
        if purpose and chosen:
            beyond = [DataCategory(code).label for code in chosen if code not in purpose.data_categories]
            if beyond:
                self.add_error("shared_fields", _("The privacy policy does not let “%(purpose)s” share: %(fields)s.") % {
                    "purpose": purpose.title, "fields": ", ".join(str(label) for label in beyond)})
            elif self.instance.affiliate_id:
                self._check_not_wider(purpose, chosen)
        if purpose and self.instance.pk is None:  # PIPL Art. 55, as agreement_create checks it (consent/impact_hooks.py)
            recipient = self.instance.affiliate if self.instance.affiliate_id else Affiliate()  # a new one: not assessed
            refusal = impact_assessment_refusal(purpose=purpose, recipient=recipient)
            if refusal:
                self.add_error(None, refusal)
        return data

    def _check_not_wider(self, purpose, chosen):
        """What clients consented to this recipient receiving is the most a new agreement with it may share."""
        link = (RecipientConsent.objects.filter(affiliate_id=self.instance.affiliate_id, purpose=purpose)
                .select_related("consent_purpose").first())
        wider = [DataCategory(code).label for code in chosen if link and code not in link.consent_purpose.data_categories]
        if wider:
            self.add_error("shared_fields", _(
                "Clients consented to this recipient receiving less; sharing %(fields)s as well needs their consent "
                "again.") % {"fields": ", ".join(str(label) for label in wider)})

    def _affiliate_kind(self) -> str | None:
        """The kind of the affiliate this agreement is for: in the admin's inline, the affiliate form's (saved or not)."""
        if self.affiliate is not None:
            return self.affiliate.kind
        try:
            return self.instance.affiliate.kind
        except Affiliate.DoesNotExist:
            return None

    def agreement_arguments(self) -> dict:
        data = self.cleaned_data
        return {"purpose": data["purpose"], "fields": list(data["shared_fields"]), "valid_from": data["valid_from"],
                "valid_until": data.get("valid_until"), "reference": data.get("reference", ""),
                "tells_grants": bool(data.get("tells_grants"))}


class SharingAgreementFormSet(forms.BaseInlineFormSet):
    """Hands each agreement form the affiliate of the page — on the add page not saved yet, with the kind posted."""

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "affiliate": self.instance}


class ApiKeyCreateForm(forms.Form):
    affiliate = forms.ModelChoiceField(label=_("Affiliate"),
                                       queryset=Affiliate.objects.filter(active=True).exclude(kind=Affiliate.Kind.PROCESSOR),
                                       help_text=_("Only active affiliates: the API refuses the keys of the others. "
                                                   "Processors receive no client feed and get no key."))
    name = forms.CharField(label=_("Name"), max_length=100, required=False,
                           help_text=_("What the key is for, e.g. 'nightly sync'."))
    expires_at = forms.SplitDateTimeField(label=_("Expires"), required=False, widget=AdminSplitDateTime,
                                          help_text=_("Leave empty for a key that does not expire."))

    def clean_expires_at(self):
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError(_("The expiry must be in the future."))
        return expires_at
