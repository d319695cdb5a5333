"""The words of a policy-change notice, in the client's language. Service messages: sent whatever the client
chose about promotions, and they say so."""

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from .models import PolicyVersion


@dataclass(frozen=True)
class NoticeMessage:
    subject: str
    body: str


def _previous_label(version: PolicyVersion) -> str | None:
    previous = (PolicyVersion.objects.filter(published_at__isnull=False, effective_at__lt=version.effective_at)
                .exclude(pk=version.pk).order_by("-effective_at").values_list("label", flat=True).first())
    return previous


@lru_cache(maxsize=64)
def _texts(version_id: int, published_at, language: str) -> tuple[NoticeMessage, NoticeMessage]:
    """Email and SMS for one version and language; the same for every client, so made once per worker."""
    version = PolicyVersion.objects.get(pk=version_id)
    previous = _previous_label(version)
    diff_url = f"{settings.SITE_URL}/policy/diff/?from={previous}&to={version.label}" if previous else \
        f"{settings.SITE_URL}/policy/versions/{version.label}/"
    with translation.override(language):
        when = formats.date_format(timezone.localtime(version.effective_at), "DATE_FORMAT")
        summary = version.summary_in(language)
        subject = (_("Fulfillmen privacy policy: version %(label)s takes effect on %(when)s")
                   % {"label": version.label, "when": when})
        lines = [
            _("Our privacy policy changes on %(when)s (version %(label)s).") % {"when": when, "label": version.label},
            "", _("What changes: %(summary)s") % {"summary": summary}, "",
            _("Read every change, paragraph by paragraph: %(url)s") % {"url": diff_url},
        ]
        if version.is_material:
            lines += ["", _("This is a material change. Before it takes effect you can object to it, or withdraw any "
                            "consent, in the privacy portal: %(url)s") % {"url": f"{settings.SITE_URL}/portal/choices/"}]
        lines += ["", _("This is a service message about your data: we send it whatever you chose about promotions.")]
        email = NoticeMessage(subject, "\n".join(lines))
        sms = NoticeMessage("", _("Fulfillmen: our privacy policy changes on %(when)s (v%(label)s). %(url)s "
                                  "Service message.") % {"when": when, "label": version.label, "url": diff_url})
    return email, sms


def notice_message(*, version: PolicyVersion, language: str, channel: str, kind: str = "notice") -> NoticeMessage:
    """The notice in `language` (the client's preferred language; English when none): the same words for every
    client, so callers sending many ask once per language and channel and reuse the answer."""
    email, sms = _messages(version.pk, version.published_at, language or "en", kind)
    return email if channel == "email" else sms


@lru_cache(maxsize=64)
def _messages(version_id: int, published_at, language: str, kind: str) -> tuple[NoticeMessage, NoticeMessage]:
    email, sms = _texts(version_id, published_at, language)
    if kind != "reminder":
        return email, sms
    with translation.override(language):
        prefix = _("Reminder: you have not yet accepted or objected to this change.")
        subject = _("Reminder:")
    return (NoticeMessage(f"{subject} {email.subject}".strip(), f"{prefix}\n\n{email.body}"),
            NoticeMessage("", f"{prefix} {sms.body}"))
