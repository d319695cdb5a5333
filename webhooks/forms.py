"""The admin's endpoint forms. The services have the last word (webhooks/services.py): what they refuse — a private
address, an event the recipient's agreement does not allow — is shown on the field it is about."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from sharing.models import Affiliate

from .models import SUBSCRIBABLE, EventType, WebhookEndpoint
from .services import events_validate, url_validate


def event_choices() -> list[tuple[str, str]]:
    return [(value, f"{value} — {EventType(value).label}") for value in SUBSCRIBABLE]


def _events_field():
    return forms.MultipleChoiceField(
        label=_("Events"), choices=event_choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("What this endpoint is told of. “consent.granted” only where the recipient's agreement says it "
                    "may know of new consents."))


def _url_field():
    return forms.CharField(label=_("URL"), max_length=500, widget=forms.URLInput(attrs={"size": 60}),
                           help_text=_("A public https:// address of the recipient's. It is checked now and again "
                                       "before every delivery."))


class EndpointCreateForm(forms.Form):
    affiliate = forms.ModelChoiceField(
        label=_("Recipient"), queryset=Affiliate.objects.filter(active=True).exclude(kind=Affiliate.Kind.PROCESSOR),
        help_text=_("Only active recipients. Processors receive no client feed, so they get no webhooks."))
    url = _url_field()
    events = _events_field()


class EndpointChangeForm(forms.ModelForm):
    """The URL and the events of an existing endpoint; checked by the services' own validators, saved by
    `endpoint_change` (the admin's save_model)."""

    url = _url_field()
    events = _events_field()

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events"]

    def clean(self):
        data = super().clean()
        for name, check in (("url", lambda v: url_validate(v)),
                            ("events", lambda v: events_validate(affiliate=self.instance.affiliate, events=v))):
            if name in self.changed_data and name in data:
                try:
                    data[name] = check(data[name])
                except ValidationError as exc:
                    self.add_error(None, exc)
                    data.pop(name, None)
        return data
