"""Legal holds as the client sees them: every reason their data must be kept now, and until when.

Erasure yields to a legal obligation or to legal claims (GDPR Art. 17(3)(b),(e); PIPL Art. 47; CCPA §1798.145):
an open disclosure to an authority, or a hold a privacy officer or Legal sets with a reason. The client is told
the reason (never more than `legal_hold_reason` allows while a disclosure is withheld) and until when the data is
expected to be kept. Holds are set and released by `legal_hold_set` / `legal_hold_release` (rights/services.py).
"""

from datetime import date
from typing import NamedTuple

from django.utils import formats
from django.utils.translation import gettext as _

from accounts.models import Client
from disclosures.services import client_on_legal_hold, legal_hold_reason

from .models import LegalHold


class HoldReason(NamedTuple):
    """One reason the client's data must be kept, as the client may read it; `keep_until` None: until it is closed."""

    reason: str
    keep_until: date | None


def active_legal_holds(*, client: Client):
    """The privacy officer's holds on this client that nobody has released (a passed keep-until date releases
    nothing by itself: a person lifts a hold)."""
    return LegalHold.objects.filter(client=client, released_at__isnull=True).order_by("set_at", "id")


def client_legal_holds(*, client: Client) -> list[HoldReason]:
    """Every reason the client's data must be kept now: active holds first, then open disclosures."""
    reasons = [HoldReason(hold.reason, hold.keep_until) for hold in active_legal_holds(client=client)]
    reasons += [HoldReason(legal_hold_reason(disclosure), None) for disclosure in client_on_legal_hold(client=client)]
    return reasons


def holds_text(holds: list[HoldReason]) -> str:
    """The holds as plain text for an e-mail and the request log: each reason with what is kept until when."""
    lines = []
    for hold in holds:
        if hold.keep_until:
            until = _("kept until %(date)s") % {"date": formats.date_format(hold.keep_until, "DATE_FORMAT")}
        else:
            until = _("kept until the matter is closed")
        lines.append(f"- {hold.reason} ({until})")
    return "\n".join(lines)
