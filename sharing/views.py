"""The portal's "Who received your data": every time a client's data left Fulfillmen, to whom, for what, which
fields and when (GDPR Art. 15(1)(c), PIPL Art. 45; the disclosure ledger of REQUIREMENTS §3)."""

import functools
from dataclasses import dataclass, field
from datetime import datetime

from django.shortcuts import render
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy

from accounts.jurisdictions import country_label, is_abroad, storage_location_label
from accounts.keyset import keyset_page, moment_parse, moment_text
from accounts.models import Client
from accounts.replica import replica_reads
from consent.models import DataCategory, Purpose
from consent.views import client_required

from .announcements import received_page_announcements
from .models import SharingRecord, WithdrawalNotice, transfer_mechanism_label
from .processors import processor_summary_of_client
from .received_page import RECORD_ORDER, RECORDS_PAGE_SIZE, received_body
from .selectors import SUMMARY_COUNT_CAP, notices_of_client, sharing_rows_of_client, sharing_summary_of_client


def _country_name(code: str) -> str:
    if not code:
        return ""
    return country_label(code)


def _field_labels(codes) -> list[str]:
    return [str(DataCategory(code).label) for code in codes or [] if code in DataCategory.values]


@dataclass(frozen=True)
class Disclosure:
    """One record as the client reads it: when (as the `<time>` element's value and as shown) and which data."""

    shared_at: datetime
    field_labels: list[str]
    iso: str
    shown: str
    fields_shown: str


class _RowFormatter:
    """Formats the rows of one page: the local-time strings and the field labels, each label list built once per
    distinct set of fields (a page has a handful), in the request's language and time zone."""

    def __init__(self):
        self.datetime_format = get_format("DATETIME_FORMAT")
        self.labels: dict[tuple, list[str]] = {}

    def disclosure(self, shared_at: datetime, fields) -> Disclosure:
        key = tuple(fields or ())
        labels = self.labels.get(key)
        if labels is None:
            labels = self.labels[key] = _field_labels(key)
        local = timezone.localtime(shared_at)
        return Disclosure(shared_at, labels, iso=local.isoformat(),
                          shown=dateformat.format(local, self.datetime_format), fields_shown=", ".join(labels))


@dataclass
class RecipientGroup:
    """The records of one page that went to one recipient for one purpose, newest first."""

    recipient_name: str
    recipient_country: str
    purpose: Purpose
    transfer_mechanism: str = ""  # what made the transfer abroad lawful; empty: the data stayed where it is stored
    disclosures: list[Disclosure] = field(default_factory=list)
    affiliate_id: int | None = None  # None: an authority a disclosure went to (never told of anything)
    told: list["Told"] = field(default_factory=list)

    @property
    def country_name(self) -> str:
        return _country_name(self.recipient_country)

    @property
    def transfer_mechanism_label(self) -> str:
        return transfer_mechanism_label(self.transfer_mechanism)

    @property
    def abroad(self) -> bool:
        return bool(self.recipient_country) and is_abroad(self.recipient_country)

    @property
    def last_shared_at(self) -> datetime:
        return self.disclosures[0].shared_at


def recipient_groups(rows) -> list[RecipientGroup]:
    """Group the rows of `sharing_rows_of_client` (newest first) by recipient and purpose; groups keep the order of
    their newest row. Each group's purpose carries what the page shows of it (code, titles, legal basis)."""
    groups: dict[tuple, RecipientGroup] = {}
    formatter = _RowFormatter()
    for row in rows:
        affiliate_id = row.get("affiliate_id")
        key = (affiliate_id, row["recipient_name"], row["recipient_country"], row["purpose_id"], row["transfer_mechanism"])
        group = groups.get(key)
        if group is None:
            purpose = Purpose(pk=row["purpose_id"], code=row["purpose__code"], title_en=row["purpose__title_en"],
                              title_zh_hans=row["purpose__title_zh_hans"], legal_basis=row["purpose__legal_basis"])
            group = groups[key] = RecipientGroup(row["recipient_name"], row["recipient_country"], purpose,
                                                 row["transfer_mechanism"], affiliate_id=affiliate_id)
        group.disclosures.append(formatter.disclosure(row["shared_at"], row["fields"]))
    return list(groups.values())


# What a withdrawal notice told the recipient, as the client reads it: once it confirmed (on the day it did), and
# while it has not (since the day it was sent). Several reasons read the same (a GPC signal is a withdrawal).
NOTICE_KIND = {
    WithdrawalNotice.Reason.CONSENT_WITHDRAWN: "withdrawal", WithdrawalNotice.Reason.GPC: "withdrawal",
    WithdrawalNotice.Reason.RECTIFIED: "correction", WithdrawalNotice.Reason.ERASURE: "erasure",
    WithdrawalNotice.Reason.AGREEMENT_ENDED: "agreement", WithdrawalNotice.Reason.ENGAGEMENT_ENDED: "engagement",
}
TOLD_TEXT = {
    "withdrawal": (gettext_lazy("Told of your withdrawal on %(date)s"),
                   gettext_lazy("Being told of your withdrawal since %(date)s")),
    "correction": (gettext_lazy("Told of your correction on %(date)s"),
                   gettext_lazy("Being told of your correction since %(date)s")),
    "erasure": (gettext_lazy("Told of your erasure on %(date)s"),
                gettext_lazy("Being told of your erasure since %(date)s")),
    "agreement": (gettext_lazy("Told to delete your data, as its agreement with us ended, on %(date)s"),
                  gettext_lazy("Being told to delete your data, as its agreement with us ended, since %(date)s")),
    "engagement": (gettext_lazy("Told to delete your data, as your orders with it ended, on %(date)s"),
                   gettext_lazy("Being told to delete your data, as your orders with it ended, since %(date)s")),
}


@dataclass(frozen=True)
class Told:
    text: str
    iso: str
    acknowledged: bool


def _told(notice: dict, date_format: str) -> Told:
    kind = NOTICE_KIND.get(notice["reason"], "withdrawal")
    acknowledged = notice["acknowledged_at"] is not None
    local = timezone.localtime(notice["acknowledged_at"] if acknowledged else notice["occurred_at"])
    text = TOLD_TEXT[kind][0 if acknowledged else 1] % {"date": dateformat.format(local, date_format)}
    return Told(text, local.isoformat(), acknowledged)


def groups_told(groups: list[RecipientGroup], *, client: Client, notices: list[dict] | None = None) -> list[RecipientGroup]:
    """Each recipient's newest notice of each kind about this client, for the purpose of its group, newest first:
    one query for the page, and none when only authorities are on it (`notices`: read already, for the page's
    affiliates)."""
    by_group = {(g.affiliate_id, g.purpose.pk): g for g in groups if g.affiliate_id is not None}
    seen, date_format = set(), get_format("DATE_FORMAT")
    if notices is None:
        notices = notices_of_client(client=client, affiliate_ids=[a for a, _p in by_group])
    for notice in notices:
        group = by_group.get((notice["affiliate_id"], notice["purpose_id"]))
        kind = (notice["affiliate_id"], notice["purpose_id"], NOTICE_KIND.get(notice["reason"]))
        if group is None or kind in seen:
            continue
        seen.add(kind)
        group.told.append(_told(notice, date_format))
    return groups


@dataclass(frozen=True)
class ReceivedSummary:
    """What the dashboard card shows: how many records (counted up to SUMMARY_COUNT_CAP + 1), and the latest one."""

    count: int
    last: SharingRecord | None

    @property
    def more_than(self) -> int | None:
        """The cap, when there are more records than it (the card then says "more than 1,000 times")."""
        return SUMMARY_COUNT_CAP if self.count > SUMMARY_COUNT_CAP else None

    @property
    def last_country_name(self) -> str:
        return _country_name(self.last.recipient_country) if self.last else ""


def received_summary(*, client: Client) -> ReceivedSummary:
    """One query: the newest record, carrying the count of all of them."""
    last = sharing_summary_of_client(client=client)
    return ReceivedSummary(count=last.total if last else 0, last=last)


@dataclass(frozen=True)
class ProcessorUse:
    """What one processor processed for one purpose, on our instructions: which data, how often, when last."""

    name: str
    country_name: str
    purpose: Purpose
    fields_shown: str
    times: int
    last: datetime


def processor_uses(*, client: Client, rows: list[dict] | None = None) -> list[ProcessorUse]:
    """`rows`: `processor_summary_of_client`'s, when read already."""
    uses = []
    for row in processor_summary_of_client(client=client) if rows is None else rows:
        purpose = Purpose(pk=row["purpose_id"], code=row["purpose__code"], title_en=row["purpose__title_en"],
                          title_zh_hans=row["purpose__title_zh_hans"])
        uses.append(ProcessorUse(row["recipient_name"], _country_name(row["recipient_country"]), purpose,
                                 ", ".join(_field_labels([c for c in DataCategory.values if c in row["fields"]])),
                                 row["times"], row["last"]))
    return uses


def _record_position_text(values) -> str:
    shared_at, record_id = values
    return f"{moment_text(shared_at)}.{record_id}"


def _record_position_parse(text: str) -> tuple:
    moment, _, record_id = text.partition(".")
    if not record_id.isdigit() or len(record_id) > 19:
        raise ValueError("not a record's position")
    return moment_parse(moment), int(record_id)


@replica_reads
@client_required
def received(request, client):
    older, newer, today = request.GET.get("older"), request.GET.get("newer"), timezone.localdate()

    @functools.cache
    def context() -> dict:
        """The page's queries, run only when its body is rendered (sharing/received_page.py)."""
        page = keyset_page(sharing_rows_of_client(client=client, today=today), fields=RECORD_ORDER,
                           key=lambda row: (row["shared_at"], row["id"]), size=RECORDS_PAGE_SIZE, older=older,
                           newer=newer, parse=_record_position_parse, write=_record_position_text)
        notices = notices_of_client(client=client, affiliate_ids=[row["affiliate_id"] for row in page.rows])
        processors = processor_summary_of_client(client=client)
        return {
            "page": page, "announcements": received_page_announcements(client=client),
            "storage_location": storage_location_label(),
            "groups": SimpleLazyObject(lambda: groups_told(recipient_groups(page.rows), client=client, notices=notices)),
            "processors": SimpleLazyObject(lambda: processor_uses(client=client, rows=processors)),
        }

    body = received_body(client=client, first_page=not (older or newer), today=today, context=context)
    return render(request, "sharing/received.html", {"client": client, "body": body})
