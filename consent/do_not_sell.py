"""The "Do Not Sell or Share My Personal Information" link (CCPA 1798.135(a); 11 CCR 7013, 7026).

One request opts the client out of every purpose the catalogue flags as a sale or sharing (`Purpose.opted_out_by_gpc`,
the same set a Global Privacy Control signal withdraws), at once, with channel `do-not-sell`. A logged-in client
presses one button; nobody is asked for a password (11 CCR 7026(d): an opt-out needs no verification). A visitor
without a session gives only the e-mail address they use with Fulfillmen and opens the link mailed to it; whether
the address is a client's shows only in that mailbox, never on the page (no enumeration).
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Client

from .models import Channel, ConsentAction, ConsentEvent, LegalBasis, Purpose
from .services import consent_receipt_send, consent_record

CONFIRM_SALT = "consent.do-not-sell.confirm"
CONFIRM_VALID_FOR = timedelta(days=7)


def _signature() -> str:
    return "\n\n-- \n" + _("Fulfillmen privacy team · privacy@fulfillmen.com")


def sale_or_sharing_purposes():
    """The purposes that are a "sale" or "sharing" in CCPA terms: what this link (and a GPC signal) opts out of."""
    return Purpose.objects.filter(opted_out_by_gpc=True)


@dataclass(frozen=True)
class DoNotSellOutcome:
    withdrawn: list[ConsentEvent]  # new events, one per purpose that was still granted
    purposes: list[Purpose]        # every sale/sharing purpose the client is now opted out of

    @property
    def changed(self) -> bool:
        return bool(self.withdrawn)


@transaction.atomic
def consent_do_not_sell(*, client: Client, ip_address: str | None, user_agent: str, by_email_link: bool = False
                        ) -> DoNotSellOutcome:
    """Withdraw every sale/sharing purpose of `client` in one transaction: one ledger event each (channel
    `do-not-sell`), a receipt e-mailed for each and, through the ledger's post_save, withdrawal notices to the
    affiliates that received the client (sharing/signals.py). A purpose already withdrawn records nothing, so
    pressing twice changes nothing; unlike the GPC signal ("once"), a purpose the client gave again is withdrawn
    again, because pressing the button is a new request."""
    how = ("confirmed from the e-mail address on file" if by_email_link else "pressed while logged in")
    purposes = list(sale_or_sharing_purposes().filter(legal_basis=LegalBasis.CONSENT, withdrawable=True))
    withdrawn = []
    for purpose in purposes:
        event, created = consent_record(client=client, purpose=purpose, action=ConsentAction.WITHDRAW,
                                        channel=Channel.DO_NOT_SELL, ip_address=ip_address, user_agent=user_agent,
                                        reason=f"“Do Not Sell or Share My Personal Information” link, {how}")
        if created:
            consent_receipt_send(event=event)
            withdrawn.append(event)
    return DoNotSellOutcome(withdrawn=withdrawn, purposes=purposes)


# --- Without an account: the e-mail address, a link to it --------------------------------------------------------

class ConfirmLinkError(Exception):
    """The link cannot be used: `expired` says whether asking again can help."""

    def __init__(self, *, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def confirm_link_make(*, client: Client) -> str:
    token = signing.dumps({"c": str(client.public_id), "e": client.email.lower()}, salt=CONFIRM_SALT)
    return settings.SITE_URL + reverse("consent:do_not_sell_confirm", args=[token])


def _confirm_token_read(token: str) -> tuple[str, str]:
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_VALID_FOR)
    except signing.SignatureExpired as exc:
        raise ConfirmLinkError(expired=True) from exc
    except signing.BadSignature as exc:
        raise ConfirmLinkError(expired=False) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), str) or not isinstance(payload.get("e"), str):
        raise ConfirmLinkError(expired=False)
    return payload["c"], payload["e"]


def _client_email(*, client: Client, language: str) -> dict:
    with translation.override(language):
        days = CONFIRM_VALID_FOR.days
        return dict(subject=_("Confirm: do not sell or share my personal information"), body=_(
            "Hello %(name)s,\n\nSomeone (we hope you) asked on Fulfillmen's “Do Not Sell or Share My Personal "
            "Information” page that we stop selling or sharing the personal information of the account that uses this "
            "e-mail address.\n\nTo confirm, open this link within %(days)d days:\n%(link)s\n\nNo password is needed: "
            "opening the link is enough, and it takes effect at once. If you did not ask for this, ignore this e-mail: "
            "nothing will change.") % {"name": client.full_name, "days": days, "link": confirm_link_make(client=client)}
            + _signature())


def _stranger_email(*, language: str) -> dict:
    with translation.override(language):
        return dict(subject=_("Your “Do Not Sell or Share” request to Fulfillmen"), body=_(
            "Hello,\n\nSomeone (we hope you) asked on Fulfillmen's “Do Not Sell or Share My Personal Information” page "
            "that we stop selling or sharing the personal information of this e-mail address.\n\nNo Fulfillmen account "
            "uses this address, so we hold no account under it whose data we could sell or share, and nothing was "
            "recorded. If you have an account under another address, send the request with that address, or log in and "
            "use the button on the same page.") + _signature())


@transaction.atomic
def do_not_sell_request_submit(*, email: str, language: str) -> None:
    """A visitor's request: the link goes to the client using `email`; a stranger's address is told that no account
    uses it (and the address is wiped once the e-mail is sent). Both take one lookup and one delivery row, and the
    function returns nothing, so that no caller can answer differently for the two. No account is ever created."""
    from notify.models import OutboundMessage
    from notify.services import message_queue

    email = email.strip()
    client = Client.objects.filter(email__iexact=email, erased_at__isnull=True).first()
    key = f"do-not-sell-request:{uuid.uuid4()}"
    if client is not None:
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="do-not-sell-confirm", client=client, to=client.email,
                      idempotency_key=key, wipe_body_after_send=True,  # the link is a credential
                      **_client_email(client=client, language=language))
    else:
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="do-not-sell-no-account", to=email,
                      idempotency_key=key, wipe_recipient_after_send=True, **_stranger_email(language=language))


def do_not_sell_request_confirm(*, token: str, ip_address: str | None, user_agent: str) -> DoNotSellOutcome:
    """The mailed link opened: the client it names, still using the address it was sent to, is opted out."""
    public_id, email = _confirm_token_read(token)
    client = Client.objects.filter(public_id=public_id, erased_at__isnull=True).first()
    if client is None or client.email.lower() != email:
        raise ConfirmLinkError(expired=False)
    return consent_do_not_sell(client=client, ip_address=ip_address, user_agent=user_agent, by_email_link=True)
