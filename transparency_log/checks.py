"""A malformed signer key is an error at startup, not at the first checkpoint a minute later."""

from django.conf import settings
from django.core import checks

from tools.verify_receipt import NoteVerifier, VerificationError

from .note import KeyError_, NoteSigner


@checks.register(checks.Tags.security)
def log_signing_key_check(app_configs, **kwargs):
    if not settings.LOG_SIGNING_KEY:
        return [checks.Warning(
            "No consent log signing key: checkpoints cannot be published until `make run` writes the development "
            "key or LOG_SIGNING_KEY is set.", id="transparency_log.W001")]
    try:
        signer = NoteSigner.from_skey(settings.LOG_SIGNING_KEY)
    except KeyError_ as exc:
        return [checks.Error(f"LOG_SIGNING_KEY is not a usable signer key: {exc}.", id="transparency_log.E001")]
    found = []
    if signer.name != settings.LOG_ORIGIN:
        found.append(checks.Warning(
            f"The consent log's key is named {signer.name!r} but its origin is {settings.LOG_ORIGIN!r}: verifiers expect "
            "the key's name as the origin, so every client would need --origin.", id="transparency_log.W002"))
    for vkey in settings.LOG_VERIFIER_KEYS:
        try:
            NoteVerifier.from_vkey(vkey)
        except VerificationError as exc:
            found.append(checks.Error(f"LOG_VERIFIER_KEYS holds {vkey[:40]!r}, not a verifier key: {exc}.",
                                      id="transparency_log.E002"))
    return found
