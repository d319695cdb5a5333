"""Telling a client that their data went to an authority: when it is disclosed, or — under a written non-disclosure
requirement — on the day the requirement ends (HIPAA 164.528(a)(2) as the model; GDPR 15(1)(c))."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from .models import Disclosure, DisclosureSubject

Basis = Disclosure.LegalBasis


def _why(disclosure: Disclosure) -> str:
    """Why the data went, in the words of its legal basis (call under the client's language)."""
    if disclosure.legal_basis == Basis.LEGAL_CLAIMS:
        return _("to prevent, establish, exercise or defend a legal claim (legal basis: our legitimate interest, "
                 "GDPR Art. 6(1)(f))")
    if disclosure.legal_basis == Basis.VITAL_INTERESTS:
        return _("to protect someone's life or safety in an emergency (legal basis: vital interests)")
    return _("because of a legal request: %(request_type)s (legal basis: legal obligation)") % {
        "request_type": disclosure.get_request_type_display()}


def _notice_queue(subject: DisclosureSubject) -> None:
    from notify.models import OutboundMessage
    from notify.services import message_queue

    client, disclosure = subject.client, subject.disclosure
    if not client.email:
        return
    with translation.override(client.preferred_language):
        body = _(
            "Hello %(name)s,\n\nOn %(date)s Fulfillmen disclosed some of your personal data to %(authority)s "
            "(%(country)s) %(why)s.\nData disclosed: %(categories)s.\n\n"
            "You can see this and every other recipient of your data under “Who received your data”: %(url)s\n"
            "If you have questions, reply to this e-mail or contact our privacy team.\n\nFulfillmen privacy team"
        ) % {"name": client.full_name, "authority": disclosure.authority_name, "country": disclosure.authority_country,
             "date": formats.date_format(timezone.localtime(disclosure.disclosed_at), "DATE_FORMAT"),
             "why": _why(disclosure),
             "categories": ", ".join(subject.categories_disclosed),
             "url": settings.SITE_URL + reverse("sharing:received")}
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="disclosure-notice", client=client, to=client.email,
                      subject=_("Your personal data was disclosed to %(authority)s") % {"authority": disclosure.authority_name},
                      body=body, idempotency_key=f"disclosure-notice:{subject.pk}")
    DisclosureSubject.objects.filter(pk=subject.pk).update(client_notified_at=timezone.now())


def disclosure_clients_notify(*, disclosure: Disclosure) -> int:
    """E-mail every client something was disclosed about, unless the notice is withheld (call inside the transaction)."""
    if disclosure.withhold_until and disclosure.withhold_until > timezone.localdate():
        return 0
    subjects = (DisclosureSubject.objects.filter(disclosure=disclosure, client_notified_at__isnull=True)
                .exclude(categories_disclosed=[]).select_related("client", "disclosure"))
    count = 0
    for subject in subjects:
        _notice_queue(subject)
        count += 1
    return count


def withheld_disclosures_reveal(*, today=None) -> int:
    """The beat task's work: disclosures whose non-disclosure period has ended are shown (the portal filters by date)
    and their clients are e-mailed, once each."""
    today = today or timezone.localdate()
    due = (DisclosureSubject.objects
           .filter(disclosure__withhold_until__lte=today, disclosure__disclosed_at__isnull=False,
                   client_notified_at__isnull=True)
           .exclude(categories_disclosed=[]).select_related("client", "disclosure").order_by("pk"))
    count = 0
    for subject_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            subject = (DisclosureSubject.objects.select_for_update(skip_locked=True, of=("self",))
                       .select_related("client", "disclosure").filter(pk=subject_id, client_notified_at__isnull=True).first())
            if subject is not None:
                _notice_queue(subject)
                count += 1
    return count
