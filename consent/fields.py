"""The ledger's SHA-256 values: 32 bytes on disk, the lowercase hex string in Python (issue #20, goal 4).

Everything above the database — `consent.ledger`'s canonical JSON, receipts, exports, the public log, the admin and
tools/verify_receipt.py — works with the 64 hex characters it always had; only the column is half as wide (`bytea`
holds the digest in 33 bytes, `varchar(64)` in 65) and a b-tree key on it a third of the size.
"""

from django.db import models
from django.db.models.functions import Length


class Sha256Field(models.BinaryField):
    """A SHA-256 digest (or "", stored as no bytes) kept as `bytea`, read and written as lowercase hex.

    Lookups take hex too (`filter(entry_hash="ab…")`): the value goes through `get_prep_value`. Raw SQL sees bytes:
    pass `bytes.fromhex(value)` (or `decode(%s, 'hex')`) and read with `.hex()` (or `encode(column, 'hex')`).
    """

    description = "SHA-256 digest (hex in Python, 32 bytes in the database)"

    def _check_str_default_value(self):
        return []  # a default is hex, as every value in Python (BinaryField's own values are bytes)

    def from_db_value(self, value, expression, connection):
        return None if value is None else bytes(value).hex()

    def to_python(self, value):
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).hex()
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or isinstance(value, bytes | bytearray | memoryview):
            return value
        return bytes.fromhex(value)

    def value_to_string(self, obj):
        return self.value_from_object(obj)


Sha256Field.register_lookup(Length)  # `entry_hash__length=32`: bytes on disk, for the constraints that check it
