"""Reads for affiliates. Every function takes the affiliate, so no query can forget whose scope it is in."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import IntegerField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.jurisdictions import country_label
from accounts.models import Address, Client, IPObservation
from accounts.page_fragments import VersionPart, query_digest_part, rows_digest_sql
from consent.models import Channel, ConsentState, LegalBasis, Purpose

from .engagements import engagement_window_start
from .models import Affiliate, PartnerEngagement, RecipientConsent, SharingAgreement, SharingRecord, WithdrawalNotice


def agreement_in_force(*, affiliate: Affiliate, purpose_code: str, at: datetime | None = None) -> SharingAgreement | None:
    at = at or timezone.now()
    if not affiliate.active:
        return None
    return (
        SharingAgreement.objects.filter(affiliate=affiliate, purpose__code=purpose_code, valid_from__lte=at)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        .select_related("purpose")
        .order_by("-valid_from")
        .first()
    )


def agreements_of(*, affiliate: Affiliate) -> QuerySet[SharingAgreement]:
    return SharingAgreement.objects.filter(affiliate=affiliate).select_related("purpose").order_by("purpose__code", "-valid_from")


def recipient_consent_purpose_id(*, affiliate: Affiliate, purpose: Purpose) -> int | None:
    """The per-recipient purpose through which clients consent to `affiliate` for `purpose` (None: there is none)."""
    return (RecipientConsent.objects.filter(affiliate=affiliate, purpose=purpose)
            .values_list("consent_purpose_id", flat=True).first())


def _engaged_clients(*, affiliate: Affiliate, at: datetime) -> QuerySet:
    """The clients a drop-shipping partner has an engagement with at `at`: an order routed to it that has not ended,
    or ended less than ENGAGEMENT_TAIL_DAYS ago (sharing/pages.py writes the same condition in SQL)."""
    return (PartnerEngagement.objects.filter(affiliate=affiliate, started_at__lte=at)
            .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=engagement_window_start(at=at))).values("client_id"))


def _permitted_clients(*, affiliate: Affiliate, agreement: SharingAgreement, at: datetime) -> tuple[QuerySet[Client], int | None]:
    """Clients whose data may go to this affiliate for this purpose right now, and the per-recipient purpose whose
    state decides it (sharing/pages.py says the same in SQL): for consent purposes, those whose consent to THIS
    recipient is granted; for others, every client (their legal basis does not depend on a choice), except that a
    recipient abroad receives the clients of TRANSFER_CONSENT_JURISDICTIONS only with their separate consent to it,
    and a default (`signup`) never counts as such (PIPL Art. 39). A drop-shipping partner only ever gets the clients
    engaged with it."""
    purpose: Purpose = agreement.purpose
    clients = Client.objects.filter(erased_at__isnull=True)  # an erased client is never shared again
    if affiliate.kind == Affiliate.Kind.DROPSHIP_PARTNER:
        clients = clients.filter(pk__in=_engaged_clients(affiliate=affiliate, at=at))
    consent, abroad = purpose.legal_basis == LegalBasis.CONSENT, affiliate.abroad
    if not consent and not abroad:
        return clients, None
    recipient_purpose = recipient_consent_purpose_id(affiliate=affiliate, purpose=purpose)
    states = ConsentState.objects.filter(purpose_id=recipient_purpose)
    clients = clients.filter(pk__in=(states.filter(granted=True) if consent else states).values("client_id"))
    if abroad:
        given = states.filter(granted=True).exclude(last_event__channel=Channel.SIGNUP).values("client_id")
        clients = clients.filter(~Q(jurisdiction__in=settings.TRANSFER_CONSENT_JURISDICTIONS) | Q(pk__in=given))
    return clients, recipient_purpose


@dataclass(frozen=True)
class ClientPage:
    items: list[dict]
    client_ids: list[int]
    last_id: int | None
    has_more: bool


def _address(a: Address) -> dict:
    return {"kind": a.kind, "line1": a.line1, "line2": a.line2, "city": a.city, "region": a.region,
            "postcode": a.postcode, "country": str(a.country)}


def clients_for_affiliate(*, affiliate: Affiliate, agreement: SharingAgreement, after_id: int = 0,
                          updated_since: datetime | None = None, limit: int = 100, public_id=None,
                          at: datetime | None = None) -> ClientPage:
    """One page of the clients this affiliate may receive under `agreement`, with only the agreed fields.

    Keyset pagination on the client id: a client who withdraws between pages simply stops appearing, and no
    other client moves, so nothing is skipped or repeated.
    """
    if agreement.affiliate_id != affiliate.pk:
        raise ValueError("an agreement of another affiliate")
    fields = set(agreement.fields)
    at = at or timezone.now()
    clients, recipient_purpose = _permitted_clients(affiliate=affiliate, agreement=agreement, at=at)
    clients = clients.filter(pk__gt=after_id)
    if public_id is not None:
        clients = clients.filter(public_id=public_id)
    if updated_since is not None:
        changed = ConsentState.objects.filter(purpose_id=recipient_purpose or agreement.purpose_id,
                                              changed_at__gte=updated_since).values("client_id")
        news = Q(updated_at__gte=updated_since) | Q(pk__in=changed)
        if affiliate.kind == Affiliate.Kind.DROPSHIP_PARTNER:  # newly engaged: news to the partner
            news |= Q(pk__in=PartnerEngagement.objects.filter(affiliate=affiliate, recorded_at__gte=updated_since)
                      .values("client_id"))
        clients = clients.filter(news)
    columns = ["id", "public_id"] + [c for f, c in (("name", "full_name"), ("email", "email"), ("phone", "phone")) if f in fields]
    rows = list(clients.order_by("pk").values(*columns)[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    scanned_last = rows[-1]["id"] if rows else None
    if agreement.purpose.legal_basis == LegalBasis.CONSENT:
        still = _lock_granted(purpose_id=recipient_purpose, client_ids=[r["id"] for r in rows])
        rows = [r for r in rows if r["id"] in still]
    ids = [r["id"] for r in rows]
    addresses, ips = {}, {}
    if "shipping_address" in fields and ids:
        for a in Address.objects.filter(client_id__in=ids).order_by("client_id", "id"):
            addresses.setdefault(a.client_id, []).append(_address(a))
    if "ip_address" in fields and ids:
        observed = IPObservation.objects.filter(client_id__in=ids).order_by("client_id", "-last_seen")
        for client_id, ip in observed.values_list("client_id", "ip_address"):
            ips.setdefault(client_id, []).append(ip)
    items = []
    for r in rows:
        item = {"id": str(r["public_id"]), "purpose": agreement.purpose.code}
        if "name" in fields:
            item["name"] = r["full_name"]
        if "email" in fields:
            item["email"] = r["email"]
        if "phone" in fields:
            item["phone"] = r["phone"] or None
        if "ip_address" in fields:
            item["ip_addresses"] = ips.get(r["id"], [])
        if "shipping_address" in fields:
            item["shipping_addresses"] = addresses.get(r["id"], [])
        items.append(item)
    return ClientPage(items=items, client_ids=ids, last_id=scanned_last, has_more=has_more)


def _lock_granted(*, purpose_id: int, client_ids: list[int]) -> set[int]:
    """Share-lock the consent states of the page and keep the clients still granted once concurrent changes are done.

    A withdrawal that committed after the page was read is seen here and the client is left out; one that comes
    later waits for this transaction, so it finds the sharing records written in it and notifies the affiliate.
    """
    if not client_ids or connection.vendor != "postgresql":
        return set(client_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_id FROM consent_consentstate WHERE purpose_id = %s AND client_id = ANY(%s) AND granted "
            "FOR SHARE", [purpose_id, client_ids])
        return {row[0] for row in cursor.fetchall()}


def withdrawals_for_affiliate(*, affiliate: Affiliate, purpose: Purpose, since: datetime, after_id: int = 0,
                              limit: int = 100) -> list[WithdrawalNotice]:
    return list(
        WithdrawalNotice.objects.filter(affiliate=affiliate, purpose=purpose, occurred_at__gte=since, pk__gt=after_id)
        .select_related("client", "purpose")
        .order_by("pk")[: limit + 1]
    )


def sharing_records_of_client(*, client: Client, today=None) -> QuerySet[SharingRecord]:
    """What left the company about this client, newest first (the portal's "Who received your data").

    A disclosure an authority asked us in writing to keep from the client stays hidden until the stated date
    (`today`: the local date unless given).
    """
    today = today or timezone.localdate()
    return (SharingRecord.objects.filter(client=client)
            .filter(Q(withheld_until__isnull=True) | Q(withheld_until__lte=today))
            .select_related("purpose").order_by("-shared_at", "-id"))


SUMMARY_COUNT_CAP = 1_000


def sharing_summary_of_client(*, client: Client) -> SharingRecord | None:
    """The client's newest visible record carrying `total`, the count of them up to SUMMARY_COUNT_CAP + 1, in one
    statement.

    The count is an uncorrelated scalar subquery (evaluated once, an index scan of the client's newest rows) that
    stops after SUMMARY_COUNT_CAP + 1 rows, so a client with 100,000 records costs what one with 1,001 does (the
    dashboard says "more than 1,000"); the subquery is the ORM's own query of the visible records, so it hides
    exactly what the list hides.
    """
    visible = sharing_records_of_client(client=client)
    sql, params = visible.order_by().values("id")[: SUMMARY_COUNT_CAP + 1].query.sql_with_params()
    # The SQL is the ORM's own, compiled from the queryset above; its values stay parameters.
    total = RawSQL(f"SELECT COUNT(*) FROM ({sql}) AS capped", params, output_field=IntegerField())  # nosec B611 B608
    return visible.annotate(total=total).first()


def sharing_summary_version_sql(client_id: int) -> list:
    """For a kept dashboard (accounts/page_fragments.py): what `sharing_summary_of_client` returns, as its newest
    visible record's id and the capped count — the same visibility as `sharing_records_of_client` (a record
    withheld under a non-disclosure order is in neither, so writing one changes nothing here, and its release
    does; tests/accounts/test_kept_dashboard.py compares the two). Records are never updated but by erasure."""
    today = timezone.localdate()
    table, visible = SharingRecord._meta.db_table, "r.client_id = %s AND (r.withheld_until IS NULL OR r.withheld_until <= %s)"
    return [(f"(SELECT r.id FROM {table} r WHERE {visible} ORDER BY r.shared_at DESC, r.id DESC LIMIT 1)",  # nosec B608
             [client_id, today]),
            (f"(SELECT count(*) FROM (SELECT 1 FROM {table} r WHERE {visible} LIMIT %s) capped)",  # nosec B608
             [client_id, today, SUMMARY_COUNT_CAP + 1])]


def sharing_rows_of_client(*, client: Client, today=None) -> QuerySet:
    """`sharing_records_of_client` as plain rows with only what the portal's list shows (paginate it): building
    a record and its purpose as model instances cost twice the query itself. Processors' records are not in it:
    the page lists them apart, summed up (`sharing.processors.processor_summary_of_client`)."""
    third_parties = Q(affiliate__isnull=True) | ~Q(affiliate__kind=Affiliate.Kind.PROCESSOR)
    return sharing_records_of_client(client=client, today=today).filter(third_parties).values(
        "id", "affiliate_id", "recipient_name", "recipient_country", "transfer_mechanism", "fields", "shared_at", "purpose_id",
        "purpose__code", "purpose__title_en", "purpose__title_zh_hans", "purpose__legal_basis")


def recipients_version_sql() -> list:
    """What `recipients_of_consent_purposes` reads, as a version for kept pages: every recipient link and every
    column of the affiliates they name (the purposes are consent's own part)."""
    links = RecipientConsent._meta.db_table
    return [rows_digest_sql(links),
            rows_digest_sql(Affiliate._meta.db_table, f"t.id IN (SELECT affiliate_id FROM {links})")]  # nosec B608  # table names


_NOTICE_COLUMNS = ("affiliate_id", "purpose_id", "reason", "occurred_at", "acknowledged_at")


def notices_of_client(*, client: Client, affiliate_ids) -> list[dict]:
    """The withdrawal notices about this client to these affiliates, newest first, in one query: what the portal
    says each recipient was told of, and whether it confirmed (`acknowledged_at`: over the withdrawal feed, or by
    answering the webhook 2xx). A disclosure to an authority has no affiliate, so it never has a notice."""
    ids = sorted({a for a in affiliate_ids if a is not None})
    if not ids:
        return []
    return list(WithdrawalNotice.objects.filter(client=client, affiliate_id__in=ids)
                .values(*_NOTICE_COLUMNS).order_by("-occurred_at", "-id"))


def _notices_of(client_id: int) -> QuerySet:
    return WithdrawalNotice.objects.filter(client_id=client_id).values("id", *_NOTICE_COLUMNS)


def notices_version_sql(client_id: int) -> list[VersionPart]:
    """For a kept "Who received your data": every notice about this client, as `notices_of_client` reads them (a
    superset of any page's: a few per recipient; a notice is never about a disclosure to an authority)."""
    return [query_digest_part(_notices_of, client_id)]


def recipients_of_consent_purposes(purpose_ids) -> dict:
    """{per-recipient purpose id: consent.recipient_hooks.Recipient}: who each is, for "Your choices" and receipts.
    One query. Registered as consent's recipient lookup (sharing/apps.py)."""
    from consent.recipient_hooks import Recipient

    links = (RecipientConsent.objects.filter(consent_purpose_id__in=list(purpose_ids))
             .select_related("affiliate", "purpose", "consent_purpose"))
    return {link.consent_purpose_id: Recipient(
        name=link.affiliate.name, contact_name=link.affiliate.contact_name, contact_email=link.affiliate.contact_email,
        address=link.affiliate.address, country=link.affiliate.country, country_name=country_label(link.affiliate.country),
        rights_contact=link.affiliate.rights_contact or link.affiliate.contact_email, abroad=link.affiliate.abroad,
        transfer_mechanism=link.affiliate.transfer_mechanism,
        transfer_mechanism_label=str(Affiliate.TransferMechanism(link.affiliate.transfer_mechanism).label),
        transfer_mechanism_reference=link.affiliate.transfer_mechanism_reference,
        data_categories=tuple(link.consent_purpose.data_categories),
        transfer_consent=link.purpose.legal_basis != LegalBasis.CONSENT,
    ) for link in links}
