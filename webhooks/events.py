"""What each recipient is told, and the outbox rows that will tell it (issue #19).

Every event is written in the transaction of the change it reports, with one delivery row per endpoint (not deleted) of
the recipient that subscribed to its type; sending starts once that transaction commits (webhooks/delivery.py).
Payloads carry only what the recipient's agreement lets it see:

- withdrawal notices (sharing) become `consent.withdrawn`, `client.erased` or `client.rectified`, about clients the
  recipient received; a corrected value is included only for a field its agreement in force covers, while the
  client may still be shared with it, and that disclosure leaves a sharing record in the same transaction;
- `consent.granted` only where the agreement says the recipient may know (`SharingAgreement.tells_grants`);
- `agreement.changed` and `policy.amended` name no client.

A disclosure to an authority is never a withdrawal notice nor a consent event, so it never becomes an event.
"""

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Client
from sharing.models import Affiliate, RecipientConsent, SharingAgreement, WithdrawalNotice
from sharing.selectors import agreement_in_force, clients_for_affiliate
from sharing.services import sharing_records_write

from .delivery import endpoints_kick, retry_window
from .models import EventType, WebhookEndpoint, WebhookEvent
from .outbox import endpoints_by_affiliate, notices_and_endpoints, outbox_write

PAYLOAD_VERSION = 1
NOTICE_EVENT = {
    WithdrawalNotice.Reason.CONSENT_WITHDRAWN: EventType.CONSENT_WITHDRAWN,
    WithdrawalNotice.Reason.GPC: EventType.CONSENT_WITHDRAWN,
    WithdrawalNotice.Reason.ENGAGEMENT_ENDED: EventType.CONSENT_WITHDRAWN,
    WithdrawalNotice.Reason.AGREEMENT_ENDED: EventType.CONSENT_WITHDRAWN,
    WithdrawalNotice.Reason.ERASURE: EventType.CLIENT_ERASED,
    WithdrawalNotice.Reason.RECTIFIED: EventType.CLIENT_RECTIFIED,
}
# The client data keys of a corrected value, by data category (the same keys as GET /api/v1/clients/{id}/).
VALUE_KEYS = {"name": "name", "email": "email", "phone": "phone", "ip_address": "ip_addresses",
              "shipping_address": "shipping_addresses"}


@dataclass
class Draft:
    affiliate_id: int
    type: str
    data: dict
    notice_id: int | None = None
    client_id: int | None = None
    public_id: uuid.UUID = field(default_factory=uuid.uuid4)


def _iso(at: datetime) -> str:
    return at.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def payload(*, type: str, data: dict, at: datetime) -> dict:
    return {"type": type, "timestamp": _iso(at), "version": PAYLOAD_VERSION, "data": data}


def drafts_publish(drafts: list[Draft], *, endpoints: dict[int, list[WebhookEndpoint]] | None = None,
                   at: datetime | None = None) -> list[WebhookEvent]:
    """Write the events that have at least one subscribed endpoint, and their delivery rows, in the caller's
    transaction; queue the endpoints once it commits. Returns the events written."""
    at = at or timezone.now()
    if endpoints is None:
        endpoints = endpoints_by_affiliate({d.affiliate_id for d in drafts})
    events, targets = [], []
    for draft in drafts:
        subscribed = [e.pk for e in endpoints.get(draft.affiliate_id, [])
                      if draft.type in e.events or draft.type == EventType.TEST]
        if not subscribed:
            continue
        events.append(WebhookEvent(public_id=draft.public_id, affiliate_id=draft.affiliate_id, type=draft.type,
                                   payload=payload(type=draft.type, data=draft.data, at=at), notice_id=draft.notice_id,
                                   client_id=draft.client_id, created_at=at))
        targets.append(subscribed)
    if not events:
        return []
    until = at + retry_window()
    outbox_write(events, targets, at=at, until=until)
    _kick_after_commit({endpoint_id for subscribed in targets for endpoint_id in subscribed})
    return events


_gathered = threading.local()  # per thread, so per database connection: the endpoints to queue at the next commit


def _kick_after_commit(endpoint_ids: set[int]) -> None:
    """Queue the endpoints once the transaction commits. Many calls in one transaction (a withdrawal from twenty
    recipients is twenty) cost one round of queueing: the first of their callbacks takes every endpoint gathered so
    far, the others find none left. The gathering starts afresh whenever Django starts a new list of commit
    callbacks (after a commit or a rollback), so nothing of a rolled-back transaction is queued later; an endpoint
    of a savepoint rolled back meanwhile may be queued for nothing (its run finds no rows and ends)."""
    if getattr(_gathered, "callbacks", None) is not connection.run_on_commit:
        _gathered.callbacks, _gathered.ids = connection.run_on_commit, set()
    ids = _gathered.ids
    ids.update(endpoint_ids)
    transaction.on_commit(lambda: _kick_gathered(ids), robust=True)


def _kick_gathered(ids: set[int]) -> None:
    taken = sorted(ids)
    ids.clear()
    if taken:
        endpoints_kick(taken)


def events_for_notices(notice_ids: list[int]) -> None:
    """The hook sharing calls with the withdrawal notices it just wrote (sharing/notice_hooks.py)."""
    notices, endpoints = notices_and_endpoints(notice_ids)
    erased = [n["client_id"] for n in notices if n["reason"] == WithdrawalNotice.Reason.ERASURE]
    if not endpoints:
        _corrected_values_wipe(set(erased))
        return
    drafts = []
    for n in notices:
        if n["affiliate_id"] not in endpoints:
            continue
        type = NOTICE_EVENT[n["reason"]]
        data = {"notice_id": str(n["public_id"]), "client_id": str(n["client__public_id"]), "purpose": n["purpose__code"],
                "reason": n["reason"], "occurred_at": _iso(n["occurred_at"])}
        draft = Draft(affiliate_id=n["affiliate_id"], type=type, data=data, notice_id=n["id"], client_id=n["client_id"])
        if type == EventType.CLIENT_RECTIFIED:
            data["fields"] = n["fields"]
            _corrected_values_add(draft, fields=n["fields"], endpoints=endpoints)
        drafts.append(draft)
    drafts_publish(drafts, endpoints=endpoints)
    _corrected_values_wipe(set(erased))


def _agreement_for_values(*, affiliate: Affiliate, purpose_code: str):
    """The agreement in force under which corrected values may go to `affiliate` (None: none may; abroad without a
    transfer mechanism, nothing goes)."""
    agreement = agreement_in_force(affiliate=affiliate, purpose_code=purpose_code)
    if agreement is None or (affiliate.abroad and affiliate.transfer_mechanism == Affiliate.TransferMechanism.NONE):
        return None
    return agreement


def _shareable_page(*, affiliate: Affiliate, agreement, client_public_id: str):
    """The client as the API would give it to `affiliate` now (consent, engagement), or no row."""
    return clients_for_affiliate(affiliate=affiliate, agreement=agreement, public_id=uuid.UUID(client_public_id), limit=1)


def _corrected_values_add(draft: Draft, *, fields: list[str], endpoints) -> None:
    """The corrected values of the fields the recipient's agreement in force covers, if the client may be shared
    with it now; what is included is recorded as shared, in this transaction (and only if an endpoint takes it)."""
    if not any(EventType.CLIENT_RECTIFIED in e.events for e in endpoints.get(draft.affiliate_id, [])):
        return
    affiliate = Affiliate.objects.get(pk=draft.affiliate_id)
    agreement = _agreement_for_values(affiliate=affiliate, purpose_code=draft.data["purpose"])
    covered = [f for f in fields if agreement is not None and f in agreement.fields]
    if not covered:
        return
    page = _shareable_page(affiliate=affiliate, agreement=agreement, client_public_id=draft.data["client_id"])
    if not page.client_ids:
        return
    item = page.items[0]
    draft.data["values"] = {VALUE_KEYS[f]: item.get(VALUE_KEYS[f]) for f in covered}
    sharing_records_write(affiliate=affiliate, purpose=agreement.purpose, fields=covered, client_ids=page.client_ids,
                          api_key=None, request_id=draft.public_id, at=timezone.now())


def corrected_values_still_permitted(*, affiliate: Affiliate, data: dict) -> bool:
    """Whether the corrected values an event carries may still go to `affiliate` now, as when they were added: its
    agreement for the purpose in force and covering each field, the client still shareable with it (consent, transfer
    mechanism, engagement). Asked again at every send: a withdrawal or an ended agreement may come between."""
    agreement = _agreement_for_values(affiliate=affiliate, purpose_code=data["purpose"])
    if agreement is None or any(key not in {VALUE_KEYS[f] for f in agreement.fields} for key in data.get("values", {})):
        return False
    return bool(_shareable_page(affiliate=affiliate, agreement=agreement, client_public_id=data["client_id"]).client_ids)


def corrected_values_withhold(*, event_public_id, payload: dict) -> dict:
    """The payload without its corrected values, stored so: the log says what was sent."""
    payload["data"].pop("values", None)
    WebhookEvent.objects.filter(public_id=event_public_id).update(payload=payload)
    return payload


def _corrected_values_wipe(client_ids: set[int]) -> None:
    """An erased client's corrected values leave the events that carried them (the rest of the log stays)."""
    if not client_ids:
        return
    for event in WebhookEvent.objects.filter(client_id__in=client_ids, type=EventType.CLIENT_RECTIFIED,
                                             payload__data__has_key="values"):
        event.payload["data"].pop("values", None)
        WebhookEvent.objects.filter(pk=event.pk).update(payload=event.payload)


def events_for_consent_grant(*, client_id: int, purpose_id: int, at: datetime) -> None:
    """`consent.granted` to the one recipient a per-recipient consent is for, where its agreement in force says it
    may know and the client may now be shared with it."""
    link = (RecipientConsent.objects.filter(consent_purpose_id=purpose_id, affiliate__active=True,
                                            affiliate__webhook_endpoints__deleted_at__isnull=True)
            .select_related("affiliate", "purpose").first())
    if link is None:
        return
    agreement = agreement_in_force(affiliate=link.affiliate, purpose_code=link.purpose.code)
    if agreement is None or not agreement.tells_grants:
        return
    client_public_id = Client.objects.filter(pk=client_id).values_list("public_id", flat=True).first()
    page = clients_for_affiliate(affiliate=link.affiliate, agreement=agreement, public_id=client_public_id, limit=1)
    if not page.client_ids:
        return
    drafts_publish([Draft(affiliate_id=link.affiliate_id, type=EventType.CONSENT_GRANTED, client_id=client_id,
                          data={"client_id": str(client_public_id), "purpose": link.purpose.code, "granted_at": _iso(at)})])


def agreement_data(agreement: SharingAgreement, *, change: str) -> dict:
    now = timezone.now()
    return {"change": change, "purpose": agreement.purpose.code, "fields": list(agreement.fields),
            "valid_from": _iso(agreement.valid_from),
            "valid_until": _iso(agreement.valid_until) if agreement.valid_until else None,
            "in_force": agreement.valid_from <= now and (agreement.valid_until is None or agreement.valid_until > now),
            "tells_grants": agreement.tells_grants}


def events_for_agreement(*, agreement: SharingAgreement, change: str) -> None:
    drafts_publish([Draft(affiliate_id=agreement.affiliate_id, type=EventType.AGREEMENT_CHANGED,
                          data=agreement_data(agreement, change=change))])


def events_for_policy(sender=None, *, version, at: datetime, **kwargs) -> None:
    """`policy.amended` to every recipient with an endpoint subscribed: the version, when it takes effect, where to
    read it. One event per recipient (each signed with its own endpoints' secrets)."""
    endpoints = endpoints_by_affiliate(WebhookEndpoint.objects.filter(deleted_at__isnull=True)
                                        .values("affiliate_id"))
    data = {"version": version.label, "material": version.is_material, "published_at": _iso(version.published_at),
            "effective_at": _iso(version.effective_at),
            "url": settings.SITE_URL + reverse("policy:version", args=[version.label])}
    drafts_publish([Draft(affiliate_id=a, type=EventType.POLICY_AMENDED, data=dict(data)) for a in endpoints],
                   endpoints=endpoints, at=at)


def test_event_send(*, endpoint: WebhookEndpoint) -> WebhookEvent:
    """A `webhook.test` event to this endpoint only (whatever it subscribed to)."""
    at = timezone.now()
    draft = Draft(affiliate_id=endpoint.affiliate_id, type=EventType.TEST,
                  data={"endpoint_id": str(endpoint.public_id), "message": "A test event from Fulfillmen."})
    with transaction.atomic():
        return drafts_publish([draft], endpoints={endpoint.affiliate_id: [endpoint]}, at=at)[0]
