"""What the client is told about their erasure, by e-mail, in their language: scheduled, cancelled, done — and, for a
refusal, the reason `request_close` e-mails with the right to complain; for a dormant account, the warning before and
the notice after.

Each e-mail is a delivery row written in the caller's transaction (sent after commit) and, except the last one, an
outgoing message on the request's thread, so staff see what the client was told.
"""

from datetime import date

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Client
from notify.models import OutboundMessage
from notify.services import message_queue

from ..holds import HoldReason, holds_text
from ..models import DataSubjectRequest, RequestMessage
from ..retention.dormancy import WARNING_KIND
from ..retention.periods import period_text
from ..services import SIGNATURE, request_reference

WHAT_IS_ERASED = gettext_lazy(
    "your name, e-mail address, phone number, addresses, the IP addresses and browsers we recorded, the messages "
    "of your requests and your data exports; your login stops working")
WHAT_IS_KEPT = gettext_lazy(
    "the record of your consent choices, the record of who received your data and when, the log of your requests "
    "(for at least 24 months) and records we must keep by law, such as disclosures to authorities. None of them "
    "holds your name or contact details: only your client reference")


def _moment(value) -> str:
    local = timezone.localtime(value)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({timezone.get_current_timezone_name()})"


def _page_url() -> str:
    return settings.SITE_URL + reverse("rights:erase")


def _send(*, client: Client, request: DataSubjectRequest, kind: str, subject: str, text: str, thread: bool = True,
          **flags) -> OutboundMessage:
    """Call under the client's language. The same e-mail twice (a retried task) is one delivery."""
    body = f"{_('Hello %(name)s,') % {'name': client.full_name}}\n\n{text}{SIGNATURE}"
    message = message_queue(channel=OutboundMessage.Channel.EMAIL, kind=kind, client=client, to=client.email,
                            subject=f"{subject} [{request_reference(request)}]", body=body,
                            idempotency_key=f"{kind}:{request.public_id}", **flags)
    if thread:
        RequestMessage.objects.create(request=request, direction=RequestMessage.Direction.OUTGOING, body=body,
                                      delivery=message)
    return message


def erasure_scheduled_email(*, client: Client, request: DataSubjectRequest) -> OutboundMessage:
    """Confirms the date and how to cancel: if someone else used the password, the client learns of it here."""
    with translation.override(client.preferred_language):
        text = _(
            "On %(asked)s you asked us to erase your personal data. It will be erased on %(date)s.\n\n"
            "Until then you can change your mind: log in and cancel the erasure at %(url)s\n"
            "If you did not ask for this, cancel it there and change your password.\n\n"
            "What will be erased: %(erased)s. Companies that received your data will be told to delete it.\n"
            "What we keep: %(kept)s."
        ) % {"asked": _moment(request.received_at), "date": _moment(request.scheduled_for), "url": _page_url(),
             "erased": WHAT_IS_ERASED, "kept": WHAT_IS_KEPT}
        subject = _("Your personal data will be erased on %(date)s") % {
            "date": formats.date_format(timezone.localtime(request.scheduled_for), "DATE_FORMAT")}
        return _send(client=client, request=request, kind="erasure-scheduled", subject=subject, text=text)


def erasure_refused_reason(*, client: Client, holds: list[HoldReason], planned_for=None) -> str:
    """The reason for denial, kept in the request log and e-mailed by `request_close` (GDPR Art. 12(4); PIPL Art. 50).

    `planned_for`: the erasure was scheduled, and a hold was placed during its grace period.
    """
    with translation.override(client.preferred_language):
        intro = (_("Your personal data was to be erased on %(date)s, but since you asked, it has been placed under a "
                   "legal hold, so it cannot be erased now:") % {"date": _moment(planned_for)}
                 if planned_for else _("Your personal data is under a legal hold, so it cannot be erased now:"))
        return _(
            "%(intro)s\n%(holds)s\nUntil then we keep your personal data as it is. You can see the holds and ask "
            "again once they end at %(url)s"
        ) % {"intro": intro, "holds": holds_text(holds), "url": _page_url()}


def erasure_cancelled_email(*, client: Client, request: DataSubjectRequest) -> OutboundMessage:
    with translation.override(client.preferred_language):
        text = _(
            "The erasure of your personal data planned for %(date)s was cancelled on %(now)s. Nothing was erased.\n"
            "If you did not cancel it, change your password and ask again at %(url)s"
        ) % {"date": _moment(request.scheduled_for), "now": _moment(timezone.now()), "url": _page_url()}
        return _send(client=client, request=request, kind="erasure-cancelled",
                     subject=_("The erasure of your personal data was cancelled"), text=text)


def erasure_done_email(*, client: Client, request: DataSubjectRequest) -> OutboundMessage:
    """The last message to the old address, queued before the address is wiped: once sent (or finally failed), its
    delivery row loses the address and the body (notify's `wipe_recipient_after_send`). Not kept on the thread."""
    with translation.override(client.preferred_language):
        text = _(
            "As you asked on %(asked)s, we have erased your personal data: %(erased)s. The companies that received "
            "your data have been told to delete it.\n\n"
            "What we keep, under your client reference %(reference)s only: %(kept)s.\n\n"
            "This is the last e-mail we send to this address; we delete the address once it has gone."
        ) % {"asked": _moment(request.received_at), "erased": WHAT_IS_ERASED, "reference": client.public_id,
             "kept": WHAT_IS_KEPT}
        return _send(client=client, request=request, kind="erasure-done", subject=_("Your personal data has been erased"),
                     text=text, thread=False, wipe_recipient_after_send=True)


def dormant_erasure_email(*, client: Client, months: int) -> OutboundMessage:
    """The last message to an account erased for lack of use (rights/retention): why, what went, what stays. Queued
    before the address is wiped; its delivery row loses the address and the body once sent."""
    with translation.override(client.preferred_language):
        text = _(
            "You have not used your Fulfillmen account for %(period)s, so, as “Your data” in the privacy portal says, "
            "we have closed it and erased your personal data: %(erased)s. The companies that received your data have "
            "been told to delete it.\n\n"
            "What we keep, under your client reference %(reference)s only: %(kept)s.\n\n"
            "This is the last e-mail we send to this address; we delete the address once it has gone."
        ) % {"period": period_text(months), "erased": WHAT_IS_ERASED, "reference": client.public_id, "kept": WHAT_IS_KEPT}
        body = f"{_('Hello %(name)s,') % {'name': client.full_name}}\n\n{text}{SIGNATURE}"
        return message_queue(channel=OutboundMessage.Channel.EMAIL, kind="dormant-account-erased", client=client,
                             to=client.email, subject=_("Your unused Fulfillmen account was closed and your data erased"),
                             body=body, idempotency_key=f"dormant-account-erased:{client.public_id}",
                             wipe_recipient_after_send=True)


def dormant_warning_email(*, client: Client, erase_on: date, months: int, idempotency_key: str) -> OutboundMessage:
    """The advance warning to an account about to be erased for lack of use (rights/retention): the date, that logging
    in keeps it, what would go and what would stay. Its delivery row is the record that the client was warned."""
    with translation.override(client.preferred_language):
        day = f"{formats.date_format(erase_on, 'DATE_FORMAT')} ({timezone.get_current_timezone_name()})"
        text = _(
            "You have not used your Fulfillmen account for a long time. As “Your data” in the privacy portal says, an "
            "account with no log-in or other activity for %(period)s is closed and its personal data erased.\n\n"
            "If you do not log in before %(date)s, we will close your account on that day and erase your personal data: "
            "%(erased)s. The companies that received your data will be told to delete it.\n\n"
            "To keep your account, simply log in at %(url)s — nothing else is needed. Using your account in other ways, "
            "such as changing a consent choice or sending us a request, keeps it too.\n\n"
            "What we would keep, under your client reference %(reference)s only: %(kept)s."
        ) % {"period": period_text(months), "date": day, "erased": WHAT_IS_ERASED,
             "url": settings.SITE_URL + reverse("login"), "reference": client.public_id, "kept": WHAT_IS_KEPT}
        body = f"{_('Hello %(name)s,') % {'name': client.full_name}}\n\n{text}{SIGNATURE}"
        subject = _("Log in before %(date)s to keep your Fulfillmen account") % {
            "date": formats.date_format(erase_on, "DATE_FORMAT")}
        return message_queue(channel=OutboundMessage.Channel.EMAIL, kind=WARNING_KIND, client=client,
                             to=client.email, subject=subject, body=body, idempotency_key=idempotency_key)
