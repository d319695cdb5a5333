"""`verify_log`: recompute the public tree from the ledger and hold it against every published checkpoint.

Checks, in order: the leaves are the ledger's events at consecutive positions and every event is in the log or
queued for it; every stored node is the hash of its children (level 0: of the ledger's entry hash); every
checkpoint is signed by a pinned key (LOG_VERIFIER_KEYS), names our origin, and its root is the recomputed root at
its size; consecutive checkpoints are consistent (proofs served from the stored tree, checked by the standalone
verifier's code); the witness file holds exactly the database's checkpoints. A problem found at a leaf names its
index. (That each entry hash matches its event's content is `verify_ledger`'s part; the command runs both.)
"""

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef

from consent.models import ConsentEvent
from tools.verify_receipt import NoteVerifier, VerificationError, open_note, parse_checkpoint, verify_consistency

from . import merkle
from .checkpoints import log_signer
from .models import LogHead, LogLeaf, PendingLeaf, SignedCheckpoint
from .tree import TreeRangeError, consistency_proofs

CHUNK = 20_000


@dataclass
class LogReport:
    leaves: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None

    @property
    def intact(self) -> bool:
        return not self.problems

    def bad_leaf(self, index: int, problem: str) -> None:
        if self.first_bad_index is None or index < self.first_bad_index:
            self.first_bad_index = index
        self.problems.append(f"leaf {index}: {problem}")


_LEAVES_SQL = """
SELECT leaf."index", event.entry_hash, leaf.event_id, node.hash
FROM transparency_log_logleaf leaf
LEFT JOIN consent_consentevent event ON event.id = leaf.event_id
LEFT JOIN transparency_log_lognode node ON node.level = 0 AND node."index" = leaf."index"
WHERE leaf."index" >= %s ORDER BY leaf."index" LIMIT %s
"""
_NODES_SQL = ('SELECT "index", hash FROM transparency_log_lognode WHERE level = %s AND "index" >= %s '
              'ORDER BY "index" LIMIT %s')


def _pages(sql: str, *params):
    """Rows of `sql` page by page (keyset on its first column), so a million leaves never sit in memory at once."""
    start = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, start, CHUNK])
            rows = cursor.fetchall()
        yield from rows
        if len(rows) < CHUNK:
            return
        start = rows[-1][0] + 1


def _recompute(report: LogReport, checkpoint_sizes: set[int]) -> dict[int, bytes]:
    """Leaves from the ledger, in log order: the roots at each checkpoint size, and level-0 nodes compared."""
    roots, frontier, expected = {}, {}, 0
    for index, entry_hash, event_id, stored in _pages(_LEAVES_SQL):
        if index != expected:
            report.bad_leaf(expected, f"missing from the log (the next leaf present is {index})")
            break
        if entry_hash is None:
            report.bad_leaf(index, f"its ledger event (id {event_id}) is gone from the ledger")
            break
        computed = merkle.leaf_hash(bytes(entry_hash))
        if stored is None or bytes(stored) != computed:
            report.bad_leaf(index, f"the ledger's event (id {event_id}) no longer has the entry hash the log recorded "
                                   "(an event was altered and re-hashed, removed or moved)")
        merkle.appended_nodes(index, computed, frontier)
        expected += 1
        if expected in checkpoint_sizes:
            roots[expected] = merkle.fold([frontier[level] for level in sorted(frontier, reverse=True)])
    report.leaves = expected
    return roots


def _check_interior_nodes(report: LogReport) -> None:
    """Each stored node above level 0 is the hash of its two stored children (read level by level, in order)."""
    level = 1
    while True:
        children, parents = _pages(_NODES_SQL, level - 1), _pages(_NODES_SQL, level)
        seen = False
        for index, value in parents:
            seen = True
            left, right = next(children, None), next(children, None)
            if not (left and right and left[0] == 2 * index and right[0] == 2 * index + 1
                    and merkle.node_hash(bytes(left[1]), bytes(right[1])) == bytes(value)):
                report.bad_leaf(index << level, f"stored node ({level}, {index}) is not the hash of its children")
                return
        if not seen:
            return
        level += 1


def _check_membership(report: LogReport) -> None:
    size = LogHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0
    if size != report.leaves and report.first_bad_index is None:
        report.problems.append(f"the tree's recorded size is {size} but the log holds {report.leaves} leaves")
    # NOT EXISTS twice: an anti-join PostgreSQL runs in one pass (NOT IN over a million ids would not fit work_mem).
    outside = (ConsentEvent.objects.filter(~Exists(LogLeaf.objects.filter(event_id=OuterRef("pk"))),
                                           ~Exists(PendingLeaf.objects.filter(event_id=OuterRef("pk"))))
               .values_list("pk", flat=True)[:20])
    for event_id in outside:
        report.problems.append(f"ledger event id {event_id} is neither in the log nor queued for it")


PAIRS_PER_READ = 500


def _signed_root(report: LogReport, checkpoint, verifiers: list[NoteVerifier]) -> bytes | None:
    """The root the checkpoint's note signs, if a pinned key signed it for our origin, size and stored root."""
    size, root = checkpoint.tree_size, bytes(checkpoint.root_hash)
    for verifier in verifiers:
        try:
            body = parse_checkpoint(open_note(checkpoint.note, verifier))
            break
        except VerificationError as exc:
            error = exc
    else:
        report.problems.append(f"checkpoint {size}: {error}")
        return None
    if (body.origin, body.size, body.root_hash) != (settings.LOG_ORIGIN, size, root):
        report.problems.append(f"checkpoint {size}: its signed text does not match the stored size, root or origin")
    return body.root_hash


def _check_checkpoints(report: LogReport, roots: dict[int, bytes], verifiers: list[NoteVerifier]) -> None:
    """Every checkpoint's signature and root; each consecutive pair's consistency proof from the stored tree, checked
    with the standalone verifier's code (nodes read for 500 pairs at a time)."""
    count, previous, pairs = 0, None, []
    for checkpoint in SignedCheckpoint.objects.order_by("tree_size").iterator(chunk_size=CHUNK):
        size = checkpoint.tree_size
        count += 1
        signed = _signed_root(report, checkpoint, verifiers)
        if signed is not None and roots.get(size) != signed:
            start = previous[0] if previous else 0
            problem = f"checkpoint {size} was signed for another tree: a leaf in [{start}, {size}) changed"
            if report.first_bad_index is not None and report.first_bad_index < size:
                report.problems.append(problem)  # the leaf itself is already named
            else:  # the stored hashes were rewritten as well: the signed roots say where, to a checkpoint's span
                report.bad_leaf(start, problem)
        if previous is not None:
            pairs.append((previous, (size, bytes(checkpoint.root_hash))))
        previous = (size, bytes(checkpoint.root_hash))
        if len(pairs) == PAIRS_PER_READ:
            _check_consistency(report, pairs)
            pairs = []
    _check_consistency(report, pairs)
    report.checkpoints = count


def _check_consistency(report: LogReport, pairs: list) -> None:
    try:
        proofs = consistency_proofs([(old[0], new[0]) for old, new in pairs])
    except TreeRangeError as exc:
        report.problems.append(f"the stored tree cannot prove checkpoints consistent: {exc}")
        return
    for ((old_size, old_root), (new_size, new_root)), proof in zip(pairs, proofs, strict=True):
        try:
            verify_consistency(old_size, new_size, proof, old_root, new_root)
        except VerificationError as exc:
            report.problems.append(f"checkpoints {old_size} and {new_size} are not consistent: {exc}")


def _check_witness_copy(report: LogReport) -> None:
    """The witness file holds exactly the database's checkpoints, in order, each once: read line by line beside the
    database's checkpoints. A size that repeats or goes back is a problem (the first line for a size is the one
    witnessed: an append-only file cannot be corrected by appending a new version)."""
    published = SignedCheckpoint.objects.count()
    try:
        file = open(settings.LOG_WITNESS_FILE, encoding="utf-8")
    except FileNotFoundError:
        if published:
            report.problems.append(f"the witness file {settings.LOG_WITNESS_FILE} is missing, though "
                                   f"{published} checkpoint(s) were published")
        return
    database = SignedCheckpoint.objects.order_by("tree_size").values_list("tree_size", "note").iterator(chunk_size=CHUNK)
    current, previous, absent = next(database, None), 0, []
    with file:
        for number, line in enumerate(file, start=1):
            try:
                entry = json.loads(line)
                size, note = int(entry["tree_size"]), entry["note"]
            except (ValueError, KeyError, TypeError) as exc:
                report.problems.append(f"the witness file's line {number} is malformed: {exc}")
                return
            if size <= previous:
                report.problems.append(f"the witness file's line {number} is for tree size {size} after {previous}: "
                                       "a checkpoint was witnessed again or out of order")
                continue
            previous = size
            while current is not None and current[0] < size:
                absent.append(current[0])
                current = next(database, None)
            if current is None or current[0] != size:
                report.problems.append(f"checkpoint {size} of the witness file is missing from the database")
            else:
                if current[1] != note:
                    report.problems.append(f"checkpoint {size} of the witness file is different in the database")
                current = next(database, None)
    while current is not None:
        absent.append(current[0])
        current = next(database, None)
    if absent:
        report.problems.append(f"{len(absent)} checkpoint(s) of the database are not in the witness file "
                               f"(first: size {absent[0]})")


def log_verifiers() -> list[NoteVerifier]:
    """The keys checkpoints may be signed with: LOG_VERIFIER_KEYS (pinned, older keys included), else the signing key's."""
    return [NoteVerifier.from_vkey(vkey) for vkey in settings.LOG_VERIFIER_KEYS] or [NoteVerifier.from_vkey(log_signer().vkey)]


def log_verify() -> LogReport:
    report = LogReport()
    verifiers = log_verifiers()
    sizes = set(SignedCheckpoint.objects.values_list("tree_size", flat=True).iterator(chunk_size=CHUNK))
    roots = _recompute(report, sizes)
    _check_interior_nodes(report)
    _check_membership(report)
    _check_checkpoints(report, roots, verifiers)
    _check_witness_copy(report)
    return report
