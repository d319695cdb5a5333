"""One page of the affiliate API, read and recorded in one PostgreSQL statement.

The statement picks the next clients by keyset (share-locking their consent state, so a withdrawal that commits
meanwhile drops them and a later one waits for this transaction), inserts one sharing record per client it
returns, and builds the JSON the affiliate receives — so Python never touches a row, and nothing is in the
response that has no record. The caller holds the transaction open until the response is built.

`sharing.selectors.clients_for_affiliate` is the same page written with the ORM: the SQLite quick start uses it,
and the test suite checks that both give the same answer for the same data.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from consent.models import LegalBasis

from .engagements import engagement_window_start
from .models import Affiliate, ApiKey, SharingAgreement, bits_of
from .selectors import clients_for_affiliate
from .services import sharing_records_write


# Each agreed field and the JSON member it becomes (in the order items list them), as JSON text: an item is
# concatenated from its members' text (to_json escapes every value) rather than built by json_build_object, which cost
# 2-5 ms more per page of 2,000 (issue #20). Only these fragments are ever put into the SQL text; every value travels
# as a parameter.
def _json(expr: str) -> str:
    return f"COALESCE(to_json({expr})::text, 'null')"


def _json_list(select: str) -> str:
    return f"COALESCE(({select})::text, '[]')"


_MEMBERS = {
    "name": "',\"name\":' || " + _json("p.full_name"),
    "email": "',\"email\":' || " + _json("p.email"),
    "phone": "',\"phone\":' || " + _json("NULLIF(p.phone, '')"),
    "ip_address": "',\"ip_addresses\":' || " + _json_list(
        "SELECT json_agg(host(i.ip_address) ORDER BY i.last_seen DESC, i.id) FROM accounts_ipobservation i "
        "WHERE i.client_id = p.id"),
    "shipping_address": "',\"shipping_addresses\":' || " + _json_list(
        "SELECT json_agg(json_build_object('kind', a.kind, 'line1', a.line1, 'line2', a.line2, 'city', a.city, "
        "'region', a.region, 'postcode', a.postcode, 'country', a.country) ORDER BY a.id) "
        "FROM accounts_address a WHERE a.client_id = p.id"),
}

_PAGE_SQL = """
WITH candidates AS (
    SELECT c.id, c.public_id, c.full_name, c.email, c.phone
    FROM {source}
    WHERE c.erased_at IS NULL AND {keyset} {filters}
    ORDER BY {order}
    LIMIT %(probe)s
    {lock}
), p AS (
    SELECT * FROM candidates ORDER BY id LIMIT %(limit)s
), recorded AS (
    INSERT INTO sharing_sharingrecord (client_id, affiliate_id, recipient_name, recipient_country, purpose_id, fields,
                                       shared_at, api_key_id, request_id, transfer_mechanism)
    SELECT p.id, %(affiliate)s, %(recipient)s, %(country)s, %(purpose)s, %(fields)s::smallint, %(at)s, %(api_key)s,
           %(request)s, %(mechanism)s
    FROM p
    RETURNING client_id
)
SELECT (SELECT count(*) FROM candidates) > %(limit)s,
       (SELECT max(id) FROM p),
       (SELECT coalesce(array_agg(client_id ORDER BY client_id), '{{}}') FROM recorded),
       (SELECT '[' || coalesce(string_agg('{{"id":"' || p.public_id::text
                                          || '","purpose":' || to_json(%(purpose_code)s::text)::text
                                          {members} || '}}', ',' ORDER BY p.id), '') || ']' FROM p)
"""


# The clients after the cursor, in id order (the keyset).
_CLIENTS = {"source": "accounts_client c", "keyset": "c.id > %(after)s", "order": "c.id"}

# The per-recipient purpose of (affiliate, purpose) -- a scalar subquery, so a missing one finds nobody.
_RECIPIENT_PURPOSE = ("(SELECT rc.consent_purpose_id FROM sharing_recipientconsent rc "
                      "WHERE rc.affiliate_id = %(affiliate)s AND rc.purpose_id = %(purpose)s)")


def _recipient_states(*, granted_only: bool) -> dict[str, str]:
    """The clients with their state for the per-recipient purpose.

    Granted only (a purpose resting on consent): read from the granted states' index in client order, each state's
    client fetched by its key. Joined, the planner weighed the two indexes against a hash join of every state and
    client after the cursor and a sort, and chose the hash join for pages of 5,000 even with `random_page_cost` 1.1
    (124 ms a page at 100k clients against 74 ms read this way); the lateral read (`OFFSET 0` keeps it one) reads
    as many states as the page needs, however few of the clients are granted, and needs no sort (issue #20).
    Every state (a purpose resting on contract, to a recipient abroad): that index does not give client order over
    both values of `granted`, so the clients stay the driving side, joined to their state."""
    if not granted_only:
        return {"source": f"accounts_client c JOIN consent_consentstate s ON s.client_id = c.id AND s.purpose_id = "
                          f"{_RECIPIENT_PURPOSE} AND s.client_id > %(after)s", "keyset": "c.id > %(after)s", "order": "c.id"}
    return {"source": ("consent_consentstate s CROSS JOIN LATERAL (SELECT c.id, c.public_id, c.full_name, c.email, c.phone, "
                       "c.erased_at, c.jurisdiction, c.updated_at FROM accounts_client c WHERE c.id = s.client_id OFFSET 0) c"),
            "keyset": f"s.purpose_id = {_RECIPIENT_PURPOSE} AND s.granted AND s.client_id > %(after)s", "order": "s.client_id"}


# Abroad: whether the event that set the state was one the client gave (a `signup` default is not a separate consent).
# Asked only for the clients of TRANSFER_CONSENT_JURISDICTIONS, after the jurisdiction test: joining every client's
# last event doubled the page's read at 1M clients (a random read into the ledger per client; issue #20).
_GIVEN = "EXISTS (SELECT 1 FROM consent_consentevent e WHERE e.id = s.last_event_id AND e.channel <> 'signup')"


PAGE_RANDOM_PAGE_COST = 1.1  # data in memory or on SSD, as PostgreSQL's documentation suggests for them


@dataclass(frozen=True)
class SharedPage:
    items_json: str  # the JSON array of the clients sent, exactly as the response carries it
    client_ids: list[int]
    last_id: int | None
    has_more: bool

    @property
    def items(self) -> list[dict]:
        return json.loads(self.items_json)


def client_page_share(*, affiliate: Affiliate, agreement: SharingAgreement, api_key: ApiKey | None, request_id: uuid.UUID,
                      at: datetime, after_id: int = 0, updated_since: datetime | None = None, limit: int = 100,
                      public_id: uuid.UUID | None = None) -> SharedPage:
    """The next `limit` clients the agreement's affiliate may receive, with only the agreed fields, each with its
    sharing record written. Call inside the transaction that builds the response."""
    if agreement.affiliate_id != affiliate.pk:
        raise ValueError("an agreement of another affiliate")
    if connection.vendor != "postgresql":
        page = clients_for_affiliate(affiliate=affiliate, agreement=agreement, after_id=after_id,
                                     updated_since=updated_since, limit=limit, public_id=public_id, at=at)
        sharing_records_write(affiliate=affiliate, purpose=agreement.purpose, fields=agreement.fields,
                              client_ids=page.client_ids, api_key=api_key, request_id=request_id, at=at)
        return SharedPage(items_json=json.dumps(page.items), client_ids=page.client_ids, last_id=page.last_id,
                          has_more=page.has_more)
    consent = agreement.purpose.legal_basis == LegalBasis.CONSENT
    # Issue #18 (docs/recipients.md). The state read is the client's consent to THIS recipient -- the per-recipient
    # purpose of (affiliate, purpose) in sharing.RecipientConsent -- never the purpose's own state. A recipient abroad
    # (the API has refused one without a transfer mechanism) also gets, under a purpose resting on contract, that
    # per-recipient purpose as the separate consent to the transfer; and for clients of the jurisdictions in
    # TRANSFER_CONSENT_JURISDICTIONS (PIPL Art. 39) only a consent the client gave counts, not a default (`signup`).
    abroad = affiliate.abroad
    recipient_state = consent or abroad
    # Issue #18: a drop-shipping partner receives only the clients it has an engagement with (an order routed to it),
    # while it lasts and ENGAGEMENT_TAIL_DAYS after it ended; the same condition as selectors._engaged_clients.
    partner = affiliate.kind == Affiliate.Kind.DROPSHIP_PARTNER
    filters = []
    if partner:
        filters.append("AND EXISTS (SELECT 1 FROM sharing_partnerengagement pe WHERE pe.affiliate_id = %(affiliate)s "
                       "AND pe.client_id = c.id AND pe.started_at <= %(at)s "
                       "AND (pe.ended_at IS NULL OR pe.ended_at > %(engaged_after)s))")
    if public_id is not None:
        filters.append("AND c.public_id = %(public_id)s")
        if consent:  # the client's state found by its key, not by walking the states up to it (above the lateral fence)
            filters.append("AND s.client_id = (SELECT pc.id FROM accounts_client pc WHERE pc.public_id = %(public_id)s)")
    if abroad:
        given = _GIVEN if consent else f"(s.granted AND {_GIVEN})"
        filters.append(f"AND (c.jurisdiction <> ALL(%(separate)s) OR {given})")
    if updated_since is not None:
        changed = ("s.changed_at >= %(since)s" if recipient_state else
                   "EXISTS (SELECT 1 FROM consent_consentstate s WHERE s.client_id = c.id AND s.purpose_id = %(purpose)s "
                   "AND s.changed_at >= %(since)s)")
        # A client newly engaged with the partner is news to it, even if nothing of the client changed (issue #18).
        engaged = (" OR EXISTS (SELECT 1 FROM sharing_partnerengagement pe WHERE pe.affiliate_id = %(affiliate)s "
                   "AND pe.client_id = c.id AND pe.recorded_at >= %(since)s)" if partner else "")
        filters.append(f"AND (c.updated_at >= %(since)s OR {changed}{engaged})")
    sql = _PAGE_SQL.format(
        **(_recipient_states(granted_only=consent) if recipient_state else _CLIENTS),
        filters=" ".join(filters),
        lock="FOR SHARE OF s" if recipient_state else "",
        members="".join(f" || {_MEMBERS[f]}" for f in _MEMBERS if f in agreement.fields),
    )
    params = {"after": after_id, "probe": limit + 1, "limit": limit, "affiliate": affiliate.pk,
              "recipient": affiliate.name, "country": str(affiliate.country), "purpose": agreement.purpose_id,
              "purpose_code": agreement.purpose.code, "fields": bits_of(agreement.fields), "at": at,
              "api_key": api_key.pk if api_key else None, "request": request_id, "public_id": public_id,
              "since": updated_since, "separate": list(settings.TRANSFER_CONSENT_JURISDICTIONS),
              "mechanism": affiliate.transfer_mechanism if abroad else "", "engaged_after": engagement_window_start(at=at)}
    # In the caller's transaction, without a savepoint of its own (two round trips a page): if the statement fails, the
    # caller's transaction is rolled back whole, as it must be when part of a response's records could be missing -- a
    # caller that caught the error could not go on in that transaction (TransactionManagementError), by design.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # The planner's default cost of a random read (4, for spinning disks) made it hash-join every client after the
        # cursor with every granted state and sort them all, on disk, to keep one page: 70-120 ms at 100k clients
        # against 3.6 ms reading both indexes in client order (bench/README.md). For this transaction only.
        cursor.execute("SET LOCAL random_page_cost = %s" % PAGE_RANDOM_PAGE_COST)  # nosec B608  # a constant of ours
        cursor.execute(sql, params)
        has_more, last_id, client_ids, items_json = cursor.fetchone()
    return SharedPage(items_json=items_json, client_ids=list(client_ids), last_id=last_id, has_more=has_more)
