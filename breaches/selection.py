"""Which clients, and which of their data, a breach concerned: selected by a time window and a scope, and written
as BreachSubject rows a chunk at a time (a few statements per chunk, never one per client).

Scopes: every client holding data of the breach's categories; the clients a staff member looked at or exported
(the staff access log); the clients whose data went to a recipient (sharing records); the clients with consent
events (the ledger); an explicit list of client IDs. A client's affected categories are what the scope shows of
theirs, within the breach's categories.

A disclosure under a non-disclosure requirement stays Legal's alone here too: for a requester who may not know of it,
its sharing records (and Legal's sealed looks in the access log) select nobody, so neither the list nor its count
changes; for one who may, the clients found only through it are kept with `withheld_until` and hidden from others.
"""

import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access_log import staff_access_visible
from accounts.models import Address, Client, IPObservation, StaffAccess
from accounts.roles import sees_withheld_disclosures
from consent.models import ConsentEvent, DataCategory
from disclosures.models import DisclosureSubject
from sharing.models import SharingRecord

from .models import Breach, BreachSubject

CHUNK = 5000
Row = tuple[int, frozenset, date | None]  # client id, categories affected, withheld until (None: visible to all staff)

SCOPES = {
    "categories": gettext_lazy("Every client holding data of the breach's categories in the window"),
    "staff-access": gettext_lazy("Clients whose data a staff member viewed, changed or exported in the window"),
    "recipient": gettext_lazy("Clients whose data was shared with a recipient in the window"),
    "consent-events": gettext_lazy("Clients with consent events recorded in the window"),
    "client-list": gettext_lazy("A list of client IDs"),
}
# Names of the fields the staff access log records, by the data category they show.
_FIELD_CATEGORIES = [("ip", DataCategory.IP_ADDRESS), ("address", DataCategory.SHIPPING_ADDRESS),
                     ("line1", DataCategory.SHIPPING_ADDRESS), ("city", DataCategory.SHIPPING_ADDRESS),
                     ("postcode", DataCategory.SHIPPING_ADDRESS), ("email", DataCategory.EMAIL),
                     ("phone", DataCategory.PHONE), ("name", DataCategory.NAME)]
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def _field_categories(fields: Iterable[str]) -> set[str]:
    found = set()
    for name in fields or ():
        name = str(name).lower()
        found |= {category for part, category in _FIELD_CATEGORIES if part in name}
    return found


def client_ids_parse(text: str) -> list[uuid.UUID]:
    """Client IDs (UUIDs) separated by anything (commas, lines, a CSV column); anything else is an error."""
    tokens = [t for t in re.split(r"[\s,;\"']+", text or "") if t]
    wrong = [t for t in tokens if not _UUID.fullmatch(t)]
    if tokens and wrong and tokens[0].lower() in ("client_id", "public_id", "id", "client"):
        wrong = wrong[1:]  # a header line
    if wrong:
        raise ValidationError(_("These are not client IDs (UUIDs): %(values)s.") % {"values": ", ".join(wrong[:5])})
    if not tokens:
        raise ValidationError(_("Give at least one client ID."))
    return list(dict.fromkeys(uuid.UUID(t) for t in tokens if _UUID.fullmatch(t)))


# --- each scope: rows of (client, categories, withheld until) ---------------------------------------------------------

def _all_clients(categories: set[str], until: datetime) -> Iterator[Row]:
    holders = {
        DataCategory.NAME: Client.objects.filter(created_at__lte=until, erased_at__isnull=True).values_list("pk", flat=True),
        DataCategory.EMAIL: Client.objects.filter(created_at__lte=until, erased_at__isnull=True).values_list("pk", flat=True),
        DataCategory.PHONE: Client.objects.filter(created_at__lte=until, erased_at__isnull=True).exclude(phone="")
        .values_list("pk", flat=True),
        DataCategory.IP_ADDRESS: IPObservation.objects.filter(first_seen__lte=until).values_list("client_id", flat=True),
        DataCategory.SHIPPING_ADDRESS: Address.objects.filter(created_at__lte=until).values_list("client_id", flat=True),
    }
    for category in sorted(categories):
        for client_id in holders[category].order_by().distinct().iterator(chunk_size=CHUNK):
            yield client_id, frozenset([category]), None


def _staff_access(staff_id: int, since: datetime, until: datetime, categories: set[str], requester) -> Iterator[Row]:
    looks = StaffAccess.objects.filter(staff_id=staff_id, at__gte=since, at__lt=until)
    visible_to_all = staff_access_visible(looks, viewer=None)
    sealed_dates = {}
    if sees_withheld_disclosures(requester):
        sealed = looks.exclude(pk__in=visible_to_all.values("pk")).values_list("client_id", flat=True).distinct()
        withheld = DisclosureSubject.objects.filter(client_id__in=sealed, disclosure__withhold_until__gt=timezone.localdate())
        sealed_dates = dict(withheld.values("client_id").annotate(until=Max("disclosure__withhold_until"))
                            .values_list("client_id", "until"))
    for client_id, fields in visible_to_all.values_list("client_id", "fields").iterator(chunk_size=CHUNK):
        yield client_id, frozenset(_field_categories(fields) & categories or categories), None
    if sealed_dates:
        for client_id, fields in looks.filter(client_id__in=list(sealed_dates)).values_list("client_id", "fields"):
            yield client_id, frozenset(_field_categories(fields) & categories or categories), sealed_dates[client_id]


def _recipient(recipient: str, since: datetime, until: datetime, categories: set[str], requester) -> Iterator[Row]:
    records = SharingRecord.objects.filter(
        Q(recipient_name__iexact=recipient.strip()) | Q(affiliate__name__iexact=recipient.strip()),
        shared_at__gte=since, shared_at__lt=until)
    today = timezone.localdate()
    if not sees_withheld_disclosures(requester):
        records = records.exclude(withheld_until__gt=today)
    for client_id, fields, withheld in records.values_list("client_id", "fields", "withheld_until").iterator(chunk_size=CHUNK):
        yield client_id, frozenset(set(fields or ()) & categories), withheld if withheld and withheld > today else None


def _consent_events(since: datetime, until: datetime, categories: set[str]) -> Iterator[Row]:
    events = ConsentEvent.objects.filter(recorded_at__gte=since, recorded_at__lt=until).order_by()
    for client_id in events.values_list("client_id", flat=True).distinct().iterator(chunk_size=CHUNK):
        yield client_id, frozenset(categories), None


def _client_list(public_ids: list[uuid.UUID], categories: set[str]) -> Iterator[Row]:
    found = dict(Client.objects.filter(public_id__in=public_ids).values_list("public_id", "pk"))
    unknown = [str(p) for p in public_ids if p not in found]
    if unknown:
        raise ValidationError(_("%(count)d client IDs are not known; nothing was added: %(ids)s.")
                              % {"count": len(unknown), "ids": ", ".join(unknown[:5])})
    for pk in found.values():
        yield pk, frozenset(categories), None


def affected_rows(*, breach: Breach, requester, scope: str, since: datetime | None = None, until: datetime | None = None,
                  staff_id: int | None = None, recipient: str = "", client_text: str = "") -> Iterator[Row]:
    """The clients the scope finds, as `requester` may know them (validated before the first row is yielded)."""
    categories = set(breach.categories)
    if scope not in SCOPES:
        raise ValidationError(_("Choose how to select the clients."))
    if scope == "client-list":
        return _client_list(client_ids_parse(client_text), categories)
    if since is None or until is None or since >= until:
        raise ValidationError(_("Give a time window whose start lies before its end."))
    if scope == "categories":
        return _all_clients(categories, until)
    if scope == "staff-access":
        if not staff_id:
            raise ValidationError(_("Choose the staff member."))
        return _staff_access(staff_id, since, until, categories, requester)
    if scope == "recipient":
        if not recipient.strip():
            raise ValidationError(_("Give the recipient's name."))
        return _recipient(recipient, since, until, categories, requester)
    return _consent_events(since, until, categories)


# --- writing them --------------------------------------------------------------------------------------------------

def _merge_withheld(old: date | None, new: date | None) -> date | None:
    """Visible once any selection finds the client other than through a withheld disclosure."""
    return None if old is None or new is None else max(old, new)


def _chunk_write(breach: Breach, chunk: dict[int, tuple[set, date | None]], at: datetime) -> int:
    existing = {s.client_id: s for s in BreachSubject.objects.filter(breach=breach, client_id__in=list(chunk))}
    new, changed = [], []
    for client_id, (categories, withheld) in chunk.items():
        subject = existing.get(client_id)
        if subject is None:
            new.append(BreachSubject(breach=breach, client_id=client_id, categories=sorted(categories),
                                     withheld_until=withheld, selected_at=at))
            continue
        merged = sorted(set(subject.categories) | categories)
        held = _merge_withheld(subject.withheld_until, withheld)
        if merged != subject.categories or held != subject.withheld_until:
            subject.categories, subject.withheld_until = merged, held
            changed.append(subject)
    BreachSubject.objects.bulk_create(new, batch_size=CHUNK)
    BreachSubject.objects.bulk_update(changed, ["categories", "withheld_until"], batch_size=CHUNK)
    return len(new)


def subjects_write(*, breach: Breach, rows: Iterable[Row]) -> int:
    """Add the rows to the breach's subjects (merging categories); returns how many clients are new. Rows without
    a category of the breach select nobody. Call inside the transaction that holds the breach's lock."""
    at, added, chunk = timezone.now(), 0, {}
    for client_id, categories, withheld in rows:
        if not categories:
            continue
        previous = chunk.get(client_id)
        if previous is not None:
            categories, withheld = previous[0] | categories, _merge_withheld(previous[1], withheld)
        chunk[client_id] = (set(categories), withheld)
        if len(chunk) >= CHUNK:
            added += _chunk_write(breach, chunk, at)
            chunk = {}
    if chunk:
        added += _chunk_write(breach, chunk, at)
    return added
