"""The stored tree: appending pending ledger events as leaves, and reading roots and proofs in O(log n) rows."""

import hashlib

from django.db import connection, transaction
from django.utils import timezone

from accounts.bulk import rows_insert

from . import merkle
from .models import LogHead, LogLeaf, LogNode

SEQUENCE_BATCH = 20_000


class TreeRangeError(ValueError):
    """A proof or root asked for a size beyond the stored tree."""


def tree_size() -> int:
    head = LogHead.objects.filter(pk=1).values_list("size", flat=True).first()
    return head or 0


_NODES_SQL = """
SELECT node.level, node.index, node.hash FROM unnest(%s::smallint[], %s::bigint[]) AS wanted(level, index)
JOIN transparency_log_lognode node ON node.level = wanted.level AND node.index = wanted.index
"""


def _read_nodes(nodes: list[merkle.Node]) -> dict[merkle.Node, bytes]:
    if not nodes:
        return {}
    wanted = set(nodes)
    if connection.vendor == "postgresql":  # one index probe per node; the ORM's tuple IN costs more than the query
        with connection.cursor() as cursor:
            cursor.execute(_NODES_SQL, [[level for level, _ in wanted], [index for _, index in wanted]])
            rows = cursor.fetchall()
    else:
        rows = LogNode.objects.filter(pk__in=list(wanted)).values_list("level", "index", "hash")
    found = {(level, index): bytes(value) for level, index, value in rows}
    if len(found) != len(wanted):
        raise TreeRangeError("the stored tree is missing nodes for that range")
    return found


def range_hashes(ranges: list[tuple[int, int]]) -> list[bytes]:
    """The hash of each leaf range, from stored nodes read in one query."""
    pieces = [merkle.range_nodes(start, end) for start, end in ranges]
    stored = _read_nodes([node for nodes in pieces for node in nodes])
    return [merkle.fold([stored[node] for node in nodes]) for nodes in pieces]


def _check_size(size: int) -> None:
    if size < 0 or size > tree_size():
        raise TreeRangeError(f"the tree has no size {size}")


def tree_root(size: int) -> bytes:
    """The RFC 6962 root of the first `size` leaves (SHA-256 of nothing for the empty tree)."""
    _check_size(size)
    if size == 0:
        return hashlib.sha256(b"").digest()
    return range_hashes([(0, size)])[0]


def inclusion_proof(index: int, size: int) -> tuple[bytes, list[bytes]]:
    """(leaf hash, audit path) of leaf `index` in the tree of `size` (a size beyond the stored tree finds no nodes)."""
    if not 0 <= index < size:
        raise TreeRangeError(f"leaf {index} is not in a tree of size {size}")
    ranges = [(index, index + 1), *merkle.inclusion_ranges(index, size)]
    leaf, *proof = range_hashes(ranges)
    return leaf, proof


def consistency_proof(old_size: int, new_size: int) -> list[bytes]:
    if not 0 <= old_size <= new_size:
        raise TreeRangeError(f"no consistency proof from {old_size} to {new_size}")
    return range_hashes(merkle.consistency_ranges(old_size, new_size))


def consistency_proofs(pairs: list[tuple[int, int]]) -> list[list[bytes]]:
    """The consistency proof of each (old size, new size) pair, from one read of all the stored nodes they need."""
    plans = [[merkle.range_nodes(start, end) for start, end in merkle.consistency_ranges(old, new)] for old, new in pairs]
    stored = _read_nodes(list({node for plan in plans for nodes in plan for node in nodes}))
    return [[merkle.fold([stored[node] for node in nodes]) for nodes in plan] for plan in plans]


def _frontier(size: int) -> dict[int, bytes]:
    nodes = merkle.range_nodes(0, size)
    stored = _read_nodes(nodes)
    return {level: stored[(level, index)] for level, index in nodes}


# Queued events not yet in the tree (a queue row for an event that already has a leaf is stale, and skipped).
_TAKE_PENDING_SQL = """
SELECT pending.event_id, event.entry_hash FROM transparency_log_pendingleaf pending
JOIN consent_consentevent event ON event.id = pending.event_id
WHERE NOT EXISTS (SELECT 1 FROM transparency_log_logleaf leaf WHERE leaf.event_id = pending.event_id)
ORDER BY pending.event_id LIMIT %s
"""


@transaction.atomic
def _sequence_batch(limit: int) -> int:
    LogHead.objects.bulk_create([LogHead(pk=1)], ignore_conflicts=True)
    head = LogHead.objects.select_for_update().get(pk=1)
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_PENDING_SQL, [limit])
        pending = cursor.fetchall()
    if not pending:
        return 0
    size, frontier, now = head.size, _frontier(head.size), timezone.now()
    leaves, nodes = [], []
    for offset, (event_id, entry_hash) in enumerate(pending):
        leaves.append((size + offset, event_id, now))
        nodes.extend(merkle.appended_nodes(size + offset, merkle.leaf_hash(bytes(entry_hash)), frontier))
    # COPY on PostgreSQL (20,000 leaves and ~40,000 nodes a batch); the queue rows go after their leaves exist (a
    # trigger refuses it the other way round), found by a join rather than a list of ids.
    rows_insert(LogLeaf, ["index", "event", "sequenced_at"], leaves)
    rows_insert(LogNode, ["level", "index", "hash"], nodes)
    with connection.cursor() as cursor:
        cursor.execute(_DONE_SQL if connection.vendor == "postgresql" else _DONE_SQL_PORTABLE, [size])
    LogHead.objects.filter(pk=1).update(size=size + len(pending))
    return len(pending)


# This batch's queue rows, by a join on the batch's leaves (an index range: the tree is never scanned). A stale queue
# row (an insider's: the triggers refuse it otherwise) stays, skipped, and keeps the dashboard's warning on.
_DONE_SQL = """
DELETE FROM transparency_log_pendingleaf pending USING transparency_log_logleaf leaf
WHERE leaf."index" >= %s AND pending.event_id = leaf.event_id
"""
_DONE_SQL_PORTABLE = """
DELETE FROM transparency_log_pendingleaf WHERE event_id IN (
    SELECT event_id FROM transparency_log_logleaf WHERE "index" >= %s)
"""


def log_sequence(*, batch: int = SEQUENCE_BATCH) -> int:
    """Append every committed ledger event that is not yet in the tree, oldest first. Returns the tree size.

    Each batch is its own transaction, under the head row's lock: sequencers take turns and never give one
    event two positions (the pending row is deleted with the leaf's insertion)."""
    while _sequence_batch(batch) == batch:
        pass
    return tree_size()
