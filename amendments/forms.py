"""Forms of the policy pages (choosing two versions to compare) and of the admin (a draft, and its publication)."""

from datetime import datetime, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from .models import PolicyVersion
from .services import DRAFT_FIELDS, notice_period

# The date field cannot say "at once": a time this recent, left as the page filled it in, means the moment of publishing.
AT_ONCE_GRACE = timedelta(minutes=15)


class VersionsDiffForm(forms.Form):
    """`?from=<label>&to=<label>`, both published versions (the choices hold nothing else)."""

    def __init__(self, *args, versions: list[PolicyVersion], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(v.label, _version_choice(v)) for v in versions]
        errors = {"required": _("Choose a version."),
                  "invalid_choice": _("There is no published version “%(value)s”.")}
        self.fields["from"] = forms.ChoiceField(label=_("From version"), choices=choices, error_messages=errors)
        self.fields["to"] = forms.ChoiceField(label=_("To version"), choices=choices, error_messages=errors)

    def clean(self):
        data = super().clean()
        if data.get("from") and data.get("from") == data.get("to"):
            raise ValidationError(_("Choose two different versions to compare."), code="same")
        return data


def _version_choice(version: PolicyVersion) -> str:
    effective = formats.date_format(timezone.localtime(version.effective_at), "DATE_FORMAT")
    return _("%(label)s (effective %(date)s)") % {"label": version.label, "date": effective}


class PolicyDraftForm(forms.ModelForm):
    class Meta:
        model = PolicyVersion
        fields = DRAFT_FIELDS

    def clean(self):
        data = super().clean()
        # Published by someone else since this page was opened: say so here instead of failing in the service.
        if self.instance.pk and PolicyVersion.objects.filter(pk=self.instance.pk, published_at__isnull=False).exists():
            raise ValidationError(_("This version was published meanwhile and can no longer change; write a new version."))
        return data


def default_effective_at(*, version: PolicyVersion, now: datetime) -> datetime:
    """The end of the version's notice period (material or not), rounded up to the next full hour so the form can be
    sent a little later and still be in time; now where that period is 0 days (take effect at once)."""
    period = notice_period(material=version.is_material)
    if not period:
        return now
    earliest = timezone.localtime(now + period + timedelta(minutes=5))
    return earliest.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


class PolicyPublishForm(forms.Form):
    effective_at = forms.DateTimeField(
        label=_("Effective at"),
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args, version: PolicyVersion, now: datetime, **kwargs):
        kwargs.setdefault("initial", {"effective_at": default_effective_at(version=version, now=now)})
        super().__init__(*args, **kwargs)
        self.now = now
        self.fields["effective_at"].help_text = _(
            "Local time (%(tz)s). A time at most %(minutes)s minutes ago means “at once”."
        ) % {"tz": timezone.get_current_timezone_name(), "minutes": int(AT_ONCE_GRACE.total_seconds() // 60)}

    def clean_effective_at(self):
        value = self.cleaned_data["effective_at"]
        if self.now - AT_ONCE_GRACE <= value < self.now:
            return self.now
        return value
