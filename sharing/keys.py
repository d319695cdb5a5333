"""API keys: `fpp_<prefix>_<secret>`. 160 random bits, so a plain SHA-256 of the whole key is a safe lookup hash."""

import hashlib
import hmac
import secrets

KEY_PREFIX = "fpp"


def key_generate() -> tuple[str, str, str]:
    """A new key: (the full key shown once, its visible prefix, its hash)."""
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(20)}"
    return key, prefix, key_hash(key)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1]:
        return None
    return parts[1]


def hashes_match(stored: str, key: str) -> bool:
    return hmac.compare_digest(stored, key_hash(key))
