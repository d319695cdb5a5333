"""A malformed signer key is an error at startup, not at the first checkpoint a minute later."""

from django.conf import settings
from django.core import checks

from .note import KeyError_, NoteSigner


@checks.register(checks.Tags.security)
def log_signing_key_check(app_configs, **kwargs):
    if not settings.LOG_SIGNING_KEY:
        return [checks.Warning(
            "No consent log signing key: checkpoints cannot be published until `make run` writes the development "
            "key or LOG_SIGNING_KEY is set.", id="transparency_log.W001")]
    try:
        NoteSigner.from_skey(settings.LOG_SIGNING_KEY)
    except KeyError_ as exc:
        return [checks.Error(f"LOG_SIGNING_KEY is not a usable signer key: {exc}.", id="transparency_log.E001")]
    return []
