"""Reads of consent. Each takes the client whose data it reads, so the scope is never optional."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, FilteredRelation, Q

from accounts.models import Client
from accounts.page_fragments import VersionPart, rows_digest_sql

from .models import NOT_A_CHOICE, Channel, ConsentEvent, ConsentState, LegalBasis, Purpose
from .offers import offered_to, offers_version_sql


@dataclass(frozen=True)
class CurrentConsent:
    """What the portal shows of a client's current consent to one purpose: the state and its last change."""

    granted: bool
    changed_at: datetime
    channel: str

    @property
    def channel_label(self) -> str:
        return str(Channel(self.channel).label) if self.channel in Channel.values else self.channel


def purposes_with_state(*, client: Client) -> list[tuple[Purpose, CurrentConsent | None]]:
    """Every purpose, each with the client's current consent (None where the client has no state for it).

    One query whatever the history's length: the purposes, each left-joined to this client's state row (unique
    per client and purpose) and to that state's last event for the channel. A purpose offered only to some clients
    (`offers.py`: a business transfer's new purpose) is left out for the others, unless they hold it: a consent
    given can always be withdrawn.
    """
    rows = (Purpose.objects.exclude(code__in=NOT_A_CHOICE)
            .annotate(client_state=FilteredRelation("consentstate", condition=Q(consentstate__client=client)),
                      state_granted=F("client_state__granted"), state_changed_at=F("client_state__changed_at"),
                      state_channel=F("client_state__last_event__channel"))
            .filter(offered_to(client_id=client.pk) | Q(state_granted=True)))
    return [(p, None if p.state_granted is None else CurrentConsent(p.state_granted, p.state_changed_at, p.state_channel))
            for p in rows]


def purpose_of_client(*, client: Client, code: str) -> Purpose | None:
    """The purpose `code` as "Your choices" offers it to this client, or None: unknown, or offered only to others
    and not held (the same for both, so a client cannot learn of a purpose that is not theirs)."""
    held = Q(consentstate__client=client, consentstate__granted=True)
    return Purpose.objects.filter(code=code).filter(offered_to(client_id=client.pk) | held).distinct().first()


def consent_history(*, client: Client):
    """The client's ledger, newest first, with what each row shows (paginate it)."""
    return (
        ConsentEvent.objects.filter(client=client)
        .select_related("purpose", "policy_version")
        .order_by("-sequence")
    )


def consent_event_for_client(*, client: Client, receipt_id) -> ConsentEvent | None:
    return (
        ConsentEvent.objects.filter(client=client, receipt_id=receipt_id)
        .select_related("purpose", "policy_version", "client")
        .first()
    )


def gpc_was_honoured(*, client: Client) -> bool:
    return ConsentEvent.objects.filter(client=client, channel=Channel.GPC).exists()


def consent_purposes() -> list[Purpose]:
    return list(Purpose.objects.filter(legal_basis=LegalBasis.CONSENT))


def choices_version_sql(client_id: int) -> list[VersionPart] | None:
    """For a kept page showing this client's choices (accounts/page_fragments.py): everything `purposes_with_state`,
    `gpc_was_honoured` and the pending policy answers read — the purposes (every column; the catalogue is small),
    the client's states and newest ledger event (the ledger is append-only: a new event is a new newest one), and
    which restricted purposes are offered to them. None (never kept) where an offer has no version."""
    offers = offers_version_sql(client_id=client_id)
    if offers is None:
        return None
    return [rows_digest_sql(Purpose._meta.db_table),
            rows_digest_sql(ConsentState._meta.db_table, "t.client_id = %s", (client_id,)),
            (f"(SELECT e.id FROM {ConsentEvent._meta.db_table} e WHERE e.client_id = %s "  # nosec B608
             "ORDER BY e.sequence DESC LIMIT 1)", [client_id]),
            *offers]
