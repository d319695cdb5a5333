"""The portal's "Who received your data": every time a client's data left Fulfillmen, to whom, for what, which
fields and when (GDPR Art. 15(1)(c), PIPL Art. 45; the disclosure ledger of REQUIREMENTS §3)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.paginator import Paginator
from django.db.models import Count, Window
from django.shortcuts import render
from django_countries import countries

from accounts.models import Client
from consent.models import DataCategory, Purpose
from consent.views import client_required

from .models import SharingRecord
from .selectors import sharing_records_of_client

RECORDS_PAGE_SIZE = 50


def _country_name(code: str) -> str:
    if not code:
        return ""
    return str(countries.name(code)) or code


def _field_labels(codes) -> list[str]:
    return [str(DataCategory(code).label) for code in codes or [] if code in DataCategory.values]


@dataclass(frozen=True)
class Disclosure:
    """One record as the client reads it."""

    shared_at: datetime
    field_labels: list[str]


@dataclass
class RecipientGroup:
    """The records of one page that went to one recipient for one purpose, newest first."""

    recipient_name: str
    recipient_country: str
    purpose: Purpose
    disclosures: list[Disclosure] = field(default_factory=list)

    @property
    def country_name(self) -> str:
        return _country_name(self.recipient_country)

    @property
    def last_shared_at(self) -> datetime:
        return self.disclosures[0].shared_at


def recipient_groups(records) -> list[RecipientGroup]:
    """Group records (already newest first) by recipient and purpose; groups keep the order of their newest record."""
    groups: dict[tuple, RecipientGroup] = {}
    for record in records:
        key = (record.recipient_name, record.recipient_country, record.purpose_id)
        group = groups.get(key)
        if group is None:
            group = groups[key] = RecipientGroup(record.recipient_name, record.recipient_country, record.purpose)
        group.disclosures.append(Disclosure(record.shared_at, _field_labels(record.fields)))
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
    """One query: the newest record, carrying the count of all of them (a window over the whole set)."""
    last = sharing_records_of_client(client=client).annotate(total=Window(Count("id"))).first()
    return ReceivedSummary(count=last.total if last else 0, last=last)


@client_required
def received(request, client):
    page = Paginator(sharing_records_of_client(client=client), RECORDS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sharing/received.html", {
        "client": client, "page": page, "groups": recipient_groups(page.object_list),
    })
