"""Signing secrets in the Standard Webhooks format (`whsec_<base64 of 24 random bytes>`) and the signature
`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` every official verifier checks.

A secret must be readable to sign, so it cannot be hashed like an API key: it is stored encrypted (Fernet, with a key
derived from WEBHOOK_SECRET_KEY, by default from SECRET_KEY), so a copy of the database alone does not let anyone
forge a webhook.
"""

import base64
import hashlib
import hmac
import secrets as random

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "whsec_"
SECRET_BYTES = 24


def secret_generate() -> str:
    return PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def _fernet() -> Fernet:
    material = (getattr(settings, "WEBHOOK_SECRET_KEY", "") or settings.SECRET_KEY).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fulfillmen webhook secrets").derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The webhook secret cannot be read with this WEBHOOK_SECRET_KEY; rotate it.") from exc


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(_key(secret), f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(*, secrets: list[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """One signature per secret in force (the current one, and the previous one during a rotation's overlap),
    space-separated: a verifier holding either secret accepts the message."""
    return " ".join(signature(secret=s, webhook_id=webhook_id, timestamp=timestamp, body=body) for s in secrets)
