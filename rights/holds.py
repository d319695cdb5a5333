"""Legal holds as the client sees them: every reason their data must be kept now, and until when.

Erasure yields to a legal obligation or to legal claims (GDPR Art. 17(3)(b),(e); PIPL Art. 47; CCPA §1798.145):
an open disclosure to an authority, or a hold a privacy officer or Legal sets. Both are `LegalHold` rows — the
disclosure's kept in step by `disclosure_holds_sync` — so every surface (the erase page, "Your data", the export,
the refusal e-mail and the request log) reads holds one way.

A hold that comes from a disclosure under a non-disclosure requirement reads exactly like an ordinary
legal-obligation hold (`LEGAL_OBLIGATION_REASON`, no date): no authority, no request type, no "legal request".
Once the requirement has passed, the hold names the authority, as it does for a disclosure nobody withholds.
"""

from datetime import date
from typing import NamedTuple

from django.db.models import Case, CharField, Q, Value, When, Window
from django.db.models.functions import Concat, RowNumber
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Client
from accounts.page_fragments import VersionPart, query_digest_part

from .models import LegalHold

LEGAL_OBLIGATION_REASON = gettext_lazy(
    "We must keep your personal data to meet a legal obligation. It will be erased when that obligation ends.")


class HoldReason(NamedTuple):
    """One reason the client's data must be kept, as the client may read it; `keep_until` None: until it is closed."""

    reason: str
    keep_until: date | None


def hold_reason(hold: LegalHold, today: date | None = None) -> str:
    """What the client may read about one hold (its disclosure, if any, joined by the caller)."""
    disclosure = hold.disclosure if hold.disclosure_id else None
    if disclosure is not None and not disclosure.is_withheld(today):
        return _("A request from %(authority)s (%(type)s) concerning your data is being handled; your data must be "
                 "kept until it is closed.") % {"authority": disclosure.authority_name,
                                                "type": disclosure.get_request_type_display()}
    return hold.reason or str(LEGAL_OBLIGATION_REASON)


def active_legal_holds(*, client: Client):
    """The holds on this client that have not ended (a passed keep-until date releases nothing by itself: a person
    lifts a hold; a disclosure's hold ends when the request is closed)."""
    return (LegalHold.objects.filter(client=client, released_at__isnull=True).select_related("disclosure")
            .order_by("set_at", "id"))


def legal_holds_version_sql(client_id: int, today: date) -> list[VersionPart]:
    """For a kept erasure page (rights/erasure_page.py): what `client_legal_holds` makes each reason from, in its
    order — the hold's reason and date and, only for a disclosure nobody withholds any more, its authority and type.
    Nothing of a withheld disclosure is in it, so Legal editing one changes no version (and no page's timing); the
    day its requirement passes, the version changes with the reason."""
    return [query_digest_part(_holds_shown, client_id, today)]


def _holds_shown(client_id: int, today: date):
    shown = Q(disclosure__isnull=False) & (Q(disclosure__withhold_until__isnull=True) | Q(disclosure__withhold_until__lte=today))
    return active_legal_holds(client=Client(pk=client_id)).annotate(
        position=Window(RowNumber(), order_by=["set_at", "id"]),
        disclosed=Case(When(shown, then=Concat("disclosure__authority_name", Value("\x1f"), "disclosure__request_type")),
                       default=Value(""), output_field=CharField()),
    ).values("position", "reason", "keep_until", "disclosed")


def client_legal_holds(*, client: Client, today: date | None = None) -> list[HoldReason]:
    """Every reason the client's data must be kept now (`today`: the local date unless given), oldest first."""
    return [HoldReason(hold_reason(hold, today), hold.keep_until) for hold in active_legal_holds(client=client)]


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
