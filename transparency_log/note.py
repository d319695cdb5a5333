"""C2SP signed-note signing with Ed25519 (the format of golang.org/x/mod/sumdb/note), for checkpoints.

Signer key: "PRIVATE+KEY+<name>+<key hash>+<base64(0x01 || 32-byte seed)>"; verifier key: "<name>+<key hash>+
<base64(0x01 || 32-byte public key)>"; key hash: the first 4 bytes of SHA-256(name || "\\n" || 0x01 || public key),
as 8 hex digits. A signature line is "— <name> <base64(key hash || Ed25519 signature of the text)>".
Verification lives in tools/verify_receipt.py, the standalone verifier that clients run.
"""

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = b"\x01"


class KeyError_(ValueError):
    """A signer key that is not a C2SP signed-note Ed25519 key."""


def _key_hash(name: str, key: bytes) -> int:
    return struct.unpack(">I", hashlib.sha256(name.encode() + b"\n" + key).digest()[:4])[0]


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name) and name.isprintable()


@dataclass(frozen=True)
class NoteSigner:
    name: str
    private_key: Ed25519PrivateKey
    key_hash: int

    @classmethod
    def from_skey(cls, skey: str) -> "NoteSigner":
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise KeyError_("a signer key reads PRIVATE+KEY+<name>+<hash>+<base64 key>")
        name, hash_hex, encoded = parts[2:]
        try:
            raw = base64.b64decode(encoded, validate=True)
            expected_hash = int(hash_hex, 16)
        except ValueError as exc:
            raise KeyError_(f"the key's hash or base64 part is malformed ({exc})") from None
        if not _valid_name(name) or len(hash_hex) != 8:
            raise KeyError_("the key's name or hash is malformed")
        if len(raw) != 33 or raw[:1] != ALG_ED25519:
            raise KeyError_("only Ed25519 keys (algorithm 1, 32 bytes) are supported")
        signer = cls._make(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_hash != expected_hash:
            raise KeyError_("the key's hash does not match its name and key")
        return signer

    @classmethod
    def _make(cls, name: str, private_key: Ed25519PrivateKey) -> "NoteSigner":
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(name, private_key, _key_hash(name, ALG_ED25519 + public))

    @classmethod
    def generate(cls, name: str) -> str:
        """A new signer key for `name`, in the PRIVATE+KEY+… form."""
        if not _valid_name(name):
            raise KeyError_("a key name is non-empty, without spaces or '+'")
        private_key = Ed25519PrivateKey.generate()
        signer = cls._make(name, private_key)
        seed = private_key.private_bytes_raw()
        return f"PRIVATE+KEY+{name}+{signer.key_hash:08x}+{base64.b64encode(ALG_ED25519 + seed).decode()}"

    @property
    def vkey(self) -> str:
        public = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return f"{self.name}+{self.key_hash:08x}+{base64.b64encode(ALG_ED25519 + public).decode()}"

    def sign(self, text: str) -> str:
        """The signed note of `text` (which must end with a newline): text, blank line, one signature line."""
        if not text.endswith("\n"):
            raise ValueError("a note's text ends with a newline")
        signature = self.private_key.sign(text.encode())
        encoded = base64.b64encode(struct.pack(">I", self.key_hash) + signature).decode()
        return f"{text}\n\u2014 {self.name} {encoded}\n"


def checkpoint_body(*, origin: str, size: int, root_hash: bytes) -> str:
    """A C2SP tlog-checkpoint body: origin line, tree size, base64 root hash."""
    return f"{origin}\n{size}\n{base64.b64encode(root_hash).decode()}\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m transparency_log.note <name>`: print a new signer key and its verifier key. Needs no settings, so
    it also works where Django refuses to start because LOG_SIGNING_KEY is not set yet."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m transparency_log.note <key name, e.g. portal.fulfillmen.com/consent-log>", file=sys.stderr)
        return 2
    try:
        skey = NoteSigner.generate(args[0])
    except KeyError_ as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"LOG_SIGNING_KEY={skey}")
    print(f"LOG_VERIFIER_KEYS={NoteSigner.from_skey(skey).vkey}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
