"""What the public endpoints answer: checkpoints and proofs for published tree sizes, from the stored tree."""

import base64
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery

from consent.models import ConsentEvent

from . import merkle
from .checkpoints import first_checkpoint_covering
from .models import LogLeaf, SignedCheckpoint
from .tree import consistency_proof, inclusion_proof


class ProofUnavailable(Exception):
    """A proof that cannot be served: `status` 400 (the question is wrong) or 404 (no such published size)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def published(size: int) -> SignedCheckpoint:
    checkpoint = SignedCheckpoint.objects.filter(tree_size=size).first()
    if checkpoint is None:
        raise ProofUnavailable(404, "not_published", f"No checkpoint was published for tree size {size}.")
    return checkpoint


def inclusion_answer(*, index: int, size: int) -> dict:
    """The audit path of leaf `index` in the published tree of `size`. The leaf hash is the ledger's entry hash of
    today, not the stored one: a ledger event altered since it was logged gets a proof that does not verify."""
    published(size)
    if index >= size:
        raise ProofUnavailable(400, "index_out_of_range", f"index must be smaller than size ({size}).")
    entry_hash = LogLeaf.objects.filter(index=index).values_list("event__entry_hash", flat=True).first()
    if entry_hash is None:
        raise ProofUnavailable(404, "leaf_missing", f"The log holds no ledger event at index {index}.")
    _stored_leaf, proof = inclusion_proof(index, size)
    return {"index": index, "tree_size": size, "leaf_hash": _b64(merkle.leaf_hash(bytes.fromhex(entry_hash))),
            "proof": [_b64(value) for value in proof]}


def consistency_answer(*, old_size: int, new_size: int) -> dict:
    if old_size > new_size:
        raise ProofUnavailable(400, "sizes_out_of_order", "from must not be larger than to.")
    published(old_size), published(new_size)
    return {"from": old_size, "to": new_size, "proof": [_b64(value) for value in consistency_proof(old_size, new_size)]}


@dataclass(frozen=True)
class EventInLog:
    """Where a ledger event stands in the public log, for its receipt and the client's history page."""

    index: int | None
    checkpoint: SignedCheckpoint | None

    @property
    def pending(self) -> bool:
        return self.checkpoint is None


def event_in_log(event: ConsentEvent) -> EventInLog:
    index = LogLeaf.objects.filter(event=event).values_list("index", flat=True).first()
    return EventInLog(index, None if index is None else first_checkpoint_covering(index))


def places_version_sql(event_id_sql: str) -> str:
    """An SQL expression that changes whenever `events_in_log` would answer differently for the event `event_id_sql`
    (a client's newest) or any earlier event of its client: that event's index and first covering checkpoint, and,
    while no checkpoint covers it yet, the newest checkpoint and the newest index (leaves are sequenced in ledger
    order, and a checkpoint that covers an index covers every lower one, so nothing earlier can change after).
    `event_id_sql` is an expression of our own SQL, never a value from a request."""
    return (  # constant SQL around the caller's own expression
        "(SELECT concat_ws(':', l.index, c.size, "  # nosec B608
        "CASE WHEN c.size IS NULL THEN (SELECT max(tree_size) FROM transparency_log_signedcheckpoint) END, "
        "CASE WHEN c.size IS NULL THEN (SELECT max(index) FROM transparency_log_logleaf) END) "
        f"FROM (SELECT {event_id_sql} AS id) h LEFT JOIN transparency_log_logleaf l ON l.event_id = h.id "
        "LEFT JOIN LATERAL (SELECT min(tree_size) AS size FROM transparency_log_signedcheckpoint "
        "WHERE tree_size > l.index) c ON true)"
    )


def events_in_log(events) -> dict[int, EventInLog]:
    """event id -> its place in the log, for a page of events in one query."""
    first_size = SignedCheckpoint.objects.filter(tree_size__gt=OuterRef("index")).order_by("tree_size").values("tree_size")
    rows = (LogLeaf.objects.filter(event__in=events).annotate(covered_by=Subquery(first_size[:1]))
            .values_list("event_id", "index", "covered_by"))
    places = {event_id: EventInLog(index, size and SignedCheckpoint(tree_size=size)) for event_id, index, size in rows}
    return {event.pk: places.get(event.pk, EventInLog(None, None)) for event in events}
