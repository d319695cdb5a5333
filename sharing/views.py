"""The portal's "Who received your data": every time a client's data left Fulfillmen, to whom, for what, which
fields and when (GDPR Art. 15(1)(c), PIPL Art. 45; the disclosure ledger of REQUIREMENTS §3)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import dateformat, timezone
from django.utils.formats import get_format

from accounts.jurisdictions import country_label, is_abroad, storage_location_label
from accounts.models import Client
from consent.models import DataCategory, Purpose
from consent.views import client_required

from .announcements import received_page_announcements
from .models import SharingRecord, transfer_mechanism_label
from .processors import processor_summary_of_client
from .selectors import sharing_rows_of_client, sharing_summary_of_client

RECORDS_PAGE_SIZE = 50


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
        key = (row["recipient_name"], row["recipient_country"], row["purpose_id"], row["transfer_mechanism"])
        group = groups.get(key)
        if group is None:
            purpose = Purpose(pk=row["purpose_id"], code=row["purpose__code"], title_en=row["purpose__title_en"],
                              title_zh_hans=row["purpose__title_zh_hans"], legal_basis=row["purpose__legal_basis"])
            group = groups[key] = RecipientGroup(row["recipient_name"], row["recipient_country"], purpose,
                                                 row["transfer_mechanism"])
        group.disclosures.append(formatter.disclosure(row["shared_at"], row["fields"]))
    return list(groups.values())


@dataclass(frozen=True)
class ReceivedSummary:
    """What the dashboard card shows: how many records, and the latest one."""

    count: int
    last: SharingRecord | None

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


def processor_uses(*, client: Client) -> list[ProcessorUse]:
    uses = []
    for row in processor_summary_of_client(client=client):
        purpose = Purpose(pk=row["purpose_id"], code=row["purpose__code"], title_en=row["purpose__title_en"],
                          title_zh_hans=row["purpose__title_zh_hans"])
        uses.append(ProcessorUse(row["recipient_name"], _country_name(row["recipient_country"]), purpose,
                                 ", ".join(_field_labels([c for c in DataCategory.values if c in row["fields"]])),
                                 row["times"], row["last"]))
    return uses


@client_required
def received(request, client):
    page = Paginator(sharing_rows_of_client(client=client), RECORDS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sharing/received.html", {
        "client": client, "page": page, "groups": recipient_groups(page.object_list),
        "announcements": received_page_announcements(client=client),
        "storage_location": storage_location_label(),
        "processors": processor_uses(client=client),
    })
