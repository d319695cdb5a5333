"""Objection to direct marketing (GDPR Art. 21(2)-(3), absolute: no balancing, no verification): one action that
withdraws every marketing and promotional purpose the client has granted.

Each withdrawal goes through `consent_record`, so the ledger, the receipts and the affiliates' withdrawal notices
happen exactly as for a withdrawal on "Your choices"; the request log gets one completed objection.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Client, User
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, LegalBasis, Purpose
from consent.services import consent_receipt_send, consent_record

from .models import DataSubjectRequest
from .services import request_close, request_open

# Where both the ledger and the request log can name the channel.
OBJECTION_CHANNELS = set(Channel.values) & set(DataSubjectRequest.Channel.values)
REASON = "Objection to direct marketing"  # kept in the ledger's personal data, so not translated


def marketing_purposes():
    """Direct marketing as the purpose catalogue marks it (`is_marketing`: our own offers, promotional sharing)."""
    return Purpose.objects.filter(is_marketing=True, legal_basis=LegalBasis.CONSENT)


@transaction.atomic
def marketing_objection(*, client: Client, channel: str = Channel.PORTAL, recorded_by: User | None = None,
                        ip_address: str | None = None, user_agent: str = "") -> list[ConsentEvent]:
    """Withdraw every marketing purpose `client` has granted, in one transaction. Returns the withdrawal events;
    none (and no request logged) when nothing was granted, so a second click changes nothing.

    `channel` is where the objection came from: the portal, or an e-mail or letter staff record (`recorded_by`).
    """
    if channel not in OBJECTION_CHANNELS:
        raise ValueError(f"an objection cannot come through the channel {channel!r}")
    # Lock the states first: a grant racing with the objection either lands before (and is withdrawn here) or after.
    granted = list(ConsentState.objects.select_for_update(of=("self",))
                   .filter(client=client, granted=True, purpose__in=marketing_purposes())
                   .select_related("purpose").order_by("purpose__display_order", "purpose__code"))
    events = []
    for state in granted:
        event, created = consent_record(client=client, purpose=state.purpose, action=ConsentAction.WITHDRAW,
                                        channel=channel, recorded_by=recorded_by, ip_address=ip_address,
                                        user_agent=user_agent, reason=REASON)
        if created:
            consent_receipt_send(event=event)
            events.append(event)
    if events:
        request = request_open(kind=DataSubjectRequest.Kind.OBJECTION, channel=channel, client=client)
        request_close(request=request, status=DataSubjectRequest.Status.COMPLETED, actor=recorded_by,
                      outcome=_("Withdrawn: %(purposes)s.") % {"purposes": ", ".join(e.purpose.code for e in events)})
    return events
