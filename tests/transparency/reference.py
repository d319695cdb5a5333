"""Test-side references for the consent-log verifier, kept apart from tools/verify_receipt.py so that they check it
rather than repeat it: the Merkle tree hash and proofs written straight from the recursive definitions of RFC 9162
section 2.1 (MTH, PATH, PROOF), and a C2SP signed-note signer (the verifier only verifies)."""

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"  # the signed-note algorithm byte


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _split(n: int) -> int:
    """k of RFC 9162: the largest power of two smaller than n."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(hashes: list[bytes]) -> bytes:
    """MTH over leaf hashes (RFC 9162 2.1.1); the empty tree hashes to SHA-256 of nothing."""
    if not hashes:
        return _sha256(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return _sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:]))


def inclusion_path(m: int, hashes: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 2.1.3.1)."""
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if m < k:
        return inclusion_path(m, hashes[:k]) + [mth(hashes[k:])]
    return inclusion_path(m - k, hashes[k:]) + [mth(hashes[:k])]


def consistency_proof(m: int, hashes: list[bytes], complete: bool = True) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (RFC 9162 2.1.4.1)."""
    if m == len(hashes):
        return [] if complete else [mth(hashes)]
    k = _split(len(hashes))
    if m <= k:
        return consistency_proof(m, hashes[:k], complete) + [mth(hashes[k:])]
    return consistency_proof(m - k, hashes[k:], False) + [mth(hashes[:k])]


def new_key(name: str) -> tuple[str, str]:
    """A fresh Ed25519 note key pair: (signer key PRIVATE+KEY+..., verifier key name+hash+base64)."""
    private = Ed25519PrivateKey.generate()
    return signer_key(name, private.private_bytes_raw()), verifier_key(name, private)


def signer_key(name: str, seed: bytes) -> str:
    key_hash = _key_hash(name, Ed25519PrivateKey.from_private_bytes(seed))
    return f"PRIVATE+KEY+{name}+{key_hash}+{base64.b64encode(ED25519 + seed).decode()}"


def verifier_key(name: str, private: Ed25519PrivateKey) -> str:
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return f"{name}+{_key_hash(name, private)}+{base64.b64encode(ED25519 + public).decode()}"


def _key_hash(name: str, private: Ed25519PrivateKey) -> str:
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _sha256(name.encode() + b"\n" + ED25519 + public)[:4].hex()


def _parse_signer_key(skey: str) -> tuple[str, str, Ed25519PrivateKey]:
    _private, _key, name, key_hash, encoded = skey.split("+", 4)
    return name, key_hash, Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded)[1:])


def sign_note(text: str, skey: str) -> str:
    """The signed note: text, a blank line, "— <name> base64(key hash || Ed25519 signature of text)"."""
    name, key_hash, private = _parse_signer_key(skey)
    signature = bytes.fromhex(key_hash) + private.sign(text.encode())
    return f"{text}\n\u2014 {name} {base64.b64encode(signature).decode()}\n"


def vkey_of(skey: str) -> str:
    name, _hash, private = _parse_signer_key(skey)
    return verifier_key(name, private)


def checkpoint_text(origin: str, hashes: list[bytes]) -> str:
    """A C2SP tlog-checkpoint body for the tree over `hashes`."""
    return f"{origin}\n{len(hashes)}\n{base64.b64encode(mth(hashes)).decode()}\n"


def b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(value).decode() for value in values]
