"""The public consent log: one RFC 6962 Merkle tree whose leaves are the consent ledger's entry hashes.

Nothing here holds personal data: a leaf is the SHA-256 entry hash of a ledger event (which covers only a salted
digest of its personal values), a node a hash of hashes, a checkpoint a signed tree size and root.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PendingLeaf(models.Model):
    """A ledger event not yet in the tree. A database trigger adds one per event inserted, in the event's own
    transaction; the sequencer turns them into leaves (in the order they are found committed) and deletes them."""

    event = models.OneToOneField("consent.ConsentEvent", on_delete=models.PROTECT, primary_key=True, related_name="+")


class LogLeaf(models.Model):
    """The position of a ledger event in the public log. Never updated, never deleted (a trigger enforces it)."""

    index = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField("consent.ConsentEvent", on_delete=models.PROTECT, related_name="log_leaf")
    sequenced_at = models.DateTimeField()

    class Meta:
        ordering = ["index"]


class LogNode(models.Model):
    """A complete subtree's hash: (level L, index k) covers leaves [k * 2**L, (k + 1) * 2**L). Level 0 holds the
    leaf hashes. Stored once, when the subtree becomes complete; never changed."""

    pk = models.CompositePrimaryKey("level", "index")
    level = models.SmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)


class LogHead(models.Model):
    """The tree's size. One row; locked while leaves are appended, so that sequencers take turns."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)


class SignedCheckpoint(models.Model):
    """A published, signed C2SP tlog-checkpoint. Every one is kept, never changed."""

    tree_size = models.BigIntegerField(primary_key=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField(help_text=_("The signed note, exactly as served."))
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["tree_size"]
        get_latest_by = "tree_size"

    def __str__(self):
        return f"checkpoint {self.tree_size}"
