"""Reads of consent. Each takes the client whose data it reads, so the scope is never optional."""


from accounts.models import Client

from .models import POLICY_ACCEPTANCE, Channel, ConsentEvent, ConsentState, LegalBasis, Purpose


def purposes_with_state(*, client: Client) -> list[tuple[Purpose, ConsentState | None]]:
    """Every purpose, each with the client's current state (None for purposes that do not rest on consent).

    Two queries whatever the history's length: purposes, and states joined to their last event.
    """
    states = {
        s.purpose_id: s
        for s in ConsentState.objects.filter(client=client).select_related("last_event", "last_event__policy_version")
    }
    return [(p, states.get(p.pk)) for p in Purpose.objects.exclude(code=POLICY_ACCEPTANCE)]


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
