"""Telling the affected clients (GDPR Art. 34(2); PIPL Art. 57): by e-mail and by SMS, in each client's language,
one delivery row per client and channel, exactly once (idempotency keys), queued on commit, a chunk at a time.

A client without a mobile number gets a `skipped` SMS row saying so, and the e-mail. Erased clients are not
messaged. A client found only through a disclosure whose notice is still withheld is told once that ends (beat).
"""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Language
from consent.models import DataCategory
from notify.models import OutboundMessage
from notify.services import messages_queue_many

from .models import Breach, BreachSubject
from .selectors import visible_q

CHUNK = 1000
KIND = "breach-notice"
ZH_FIELDS = {"nature": "nature_zh", "consequences": "consequences_zh", "measures": "measures_zh",
             "client_advice": "client_advice_zh"}


def breach_text(breach: Breach, field: str, language: str) -> str:
    """A text of the notice in the client's language (the Chinese field for zh-hans)."""
    if language == Language.ZH_HANS:
        return getattr(breach, ZH_FIELDS[field]) or getattr(breach, field)
    return getattr(breach, field)


def _categories(codes) -> str:
    return ", ".join(str(DataCategory(c).label) for c in codes if c in DataCategory.values)


def _messages(breach: Breach, subject: BreachSubject) -> list[OutboundMessage]:
    client = subject.client
    language = client.preferred_language
    url = settings.SITE_URL + reverse("rights:data")
    with translation.override(language):
        values = {"name": client.full_name, "reference": f"BR-{breach.pk:04d}", "categories": _categories(subject.categories),
                  "nature": breach_text(breach, "nature", language),
                  "consequences": breach_text(breach, "consequences", language),
                  "measures": breach_text(breach, "measures", language),
                  "advice": breach_text(breach, "client_advice", language), "dpo": breach.dpo_contact, "url": url}
        body = _(
            "Hello %(name)s,\n\nWe are writing to tell you about a security incident at Fulfillmen that concerned your "
            "personal data (reference %(reference)s).\n\nWhat happened: %(nature)s\n\nYour data concerned: "
            "%(categories)s\n\nLikely consequences: %(consequences)s\n\nWhat we have done and will do: %(measures)s\n\n"
            "What you can do: %(advice)s\n\nOur data protection officer answers your questions: %(dpo)s\n"
            "This notice also appears under “Your data”: %(url)s\n\nFulfillmen privacy team") % values
        subject_line = _("Important: a security incident concerned your personal data")
        sms = _("Fulfillmen: a security incident concerned your personal data (%(categories)s). We have e-mailed you "
                "what happened and what you can do. Details: %(url)s") % values
    key = f"{KIND}:{breach.pk}:{client.pk}"
    email = OutboundMessage(channel=OutboundMessage.Channel.EMAIL, kind=KIND, client=client, to=client.email,
                            subject=subject_line, body=body, idempotency_key=f"{key}:email")
    if client.phone:
        text = OutboundMessage(channel=OutboundMessage.Channel.SMS, kind=KIND, client=client, to=client.phone, body=sms,
                               idempotency_key=f"{key}:sms")
    else:
        text = OutboundMessage(channel=OutboundMessage.Channel.SMS, kind=KIND, client=client, to="", body="",
                               status=OutboundMessage.Status.SKIPPED, last_error="No mobile number on file.",
                               idempotency_key=f"{key}:sms", finished_at=timezone.now())
    return [email, text]


def subjects_due(breach: Breach):
    """Who is told now: not yet told, not erased, and not kept for a withheld disclosure."""
    return (BreachSubject.objects.filter(breach=breach, notified_at__isnull=True, client__erased_at__isnull=True)
            .filter(visible_q()))


def breach_subjects_notify(*, breach: Breach, subjects=None) -> int:
    """Queue the notice to every due client, a chunk of clients per few statements; returns how many were told.
    Runs inside the caller's transaction, which holds the breach's lock."""
    due = subjects_due(breach)
    if subjects is not None:
        due = due.filter(pk__in=subjects.values("pk"))
    ids = list(due.order_by("pk").values_list("pk", flat=True))
    told = 0
    for start in range(0, len(ids), CHUNK):
        chunk = list(BreachSubject.objects.filter(pk__in=ids[start:start + CHUNK]).select_related("client"))
        messages_queue_many([m for subject in chunk for m in _messages(breach, subject)])
        told += BreachSubject.objects.filter(pk__in=[s.pk for s in chunk], notified_at__isnull=True).update(
            notified_at=timezone.now())
    return told


def released_subjects_notify() -> int:
    """Beat: clients of an already announced breach whose withheld disclosure has ended are told now, once."""
    told = 0
    today = timezone.localdate()
    for breach_id in (BreachSubject.objects.filter(breach__clients_notified_at__isnull=False, notified_at__isnull=True,
                                                   withheld_until__lte=today)
                      .values_list("breach_id", flat=True).distinct()):
        with transaction.atomic():
            breach = Breach.objects.select_for_update(skip_locked=True).filter(pk=breach_id).first()
            if breach is not None:
                told += breach_subjects_notify(breach=breach, subjects=subjects_due(breach).filter(withheld_until__lte=today))
    return told
