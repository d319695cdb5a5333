"""Publishing signed checkpoints, and keeping a second copy of each outside the database (the witness file)."""

import fcntl
import json
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from .models import LogHead, SignedCheckpoint
from .note import NoteSigner, checkpoint_body
from .tree import log_sequence, tree_root

logger = logging.getLogger(__name__)


def log_signer() -> NoteSigner:
    if not settings.LOG_SIGNING_KEY:
        raise ImproperlyConfigured("LOG_SIGNING_KEY is not set: no checkpoint can be signed (`make run` writes a "
                                   "development key on first start).")
    return NoteSigner.from_skey(settings.LOG_SIGNING_KEY)


def latest_checkpoint() -> SignedCheckpoint | None:
    return SignedCheckpoint.objects.order_by("-tree_size").first()


def first_checkpoint_covering(index: int) -> SignedCheckpoint | None:
    """The first published checkpoint whose tree includes leaf `index`."""
    return SignedCheckpoint.objects.filter(tree_size__gt=index).order_by("tree_size").first()


def checkpoint_publish() -> SignedCheckpoint | None:
    """Sequence what is pending, then sign and keep a checkpoint of the tree if it grew since the last one.
    Returns the new checkpoint, or None when there is nothing new. Safe to run concurrently (the beat task and the
    command): the head row's lock makes publishers take turns, and a size is published once."""
    signer = log_signer()
    log_sequence()
    with transaction.atomic():
        size = LogHead.objects.select_for_update().values_list("size", flat=True).filter(pk=1).first() or 0
        latest = latest_checkpoint()
        if size == 0 or (latest is not None and latest.tree_size >= size):
            checkpoint = None
        else:
            root = tree_root(size)
            checkpoint = SignedCheckpoint.objects.create(
                tree_size=size, root_hash=root, published_at=timezone.now(),
                note=signer.sign(checkpoint_body(origin=settings.LOG_ORIGIN, size=size, root_hash=root)))
    witness_copy_update(just_published=checkpoint)
    return checkpoint


def _last_line(file) -> str:
    """The file's last line, read from its end (the witness file grows by a checkpoint a minute, for years)."""
    file.seek(0, 2)
    end = position = file.tell()
    tail = b""
    while position > 0 and tail.count(b"\n") < 2:
        position = max(0, position - 4096)
        file.seek(position)
        tail = file.read(end - position)
    lines = tail.decode("utf-8", "replace").splitlines()
    return lines[-1] if lines else ""


def witness_copy_update(*, just_published: SignedCheckpoint | None = None) -> int:
    """Append to LOG_WITNESS_FILE every published checkpoint newer than its last line, oldest first. Returns how many.

    Run after each publication, so it also catches up after a failed write; the file is locked while it is read
    and appended to, so two publishers never write a checkpoint twice. An empty (or missing) file is started only
    with the very first checkpoint, `just_published`; otherwise it is not rebuilt from the database — that is what
    an insider who deleted it would want — but reported (the error log here, `verify_log` for the auditor)."""
    path = settings.LOG_WITNESS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "ab+") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            last_line = _last_line(file)
            first_ever = just_published is not None and not SignedCheckpoint.objects.exclude(
                tree_size=just_published.tree_size).exists()
            if not last_line and not first_ever and SignedCheckpoint.objects.exists():
                logger.error("consent log witness file %s is missing or empty although checkpoints were published: "
                             "not rebuilt from the database; run verify_log", path)
                return 0
            last = int(json.loads(last_line)["tree_size"]) if last_line else 0
            count = 0
            for checkpoint in SignedCheckpoint.objects.filter(tree_size__gt=last).order_by("tree_size").iterator():
                entry = {"tree_size": checkpoint.tree_size, "published_at": checkpoint.published_at.isoformat(),
                         "note": checkpoint.note}
                file.write((json.dumps(entry) + "\n").encode())
                count += 1
            file.flush()
            return count
    except (OSError, ValueError, KeyError, TypeError) as exc:  # the database copy is kept; verify_log reports the gap
        logger.error("consent log witness file %s could not be written: %s", path, exc)
        return 0
