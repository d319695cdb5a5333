"""API keys: `fpp_<prefix>_<secret>`. 160 random bits, so a plain SHA-256 of the whole key is a safe lookup hash."""

import hashlib
import hmac
import secrets

KEY_PREFIX = "fpp"
WMS_KEY_PREFIX = "fwms"  # Fulfillmen's own warehouse system: a different scheme, so neither kind of key passes for the other


def key_generate(scheme: str = KEY_PREFIX) -> tuple[str, str, str]:
    """A new key: (the full key shown once, its visible prefix, its hash)."""
    prefix = secrets.token_hex(4)
    key = f"{scheme}_{prefix}_{secrets.token_urlsafe(20)}"
    return key, prefix, key_hash(key)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str, scheme: str = KEY_PREFIX) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != scheme or not parts[1]:
        return None
    return parts[1]


def hashes_match(stored: str, key: str) -> bool:
    return hmac.compare_digest(stored, key_hash(key))
