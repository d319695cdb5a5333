"""The `transparencyLog` part of a consent receipt: where the event stands in the public log, and the proof."""

import base64

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consent.models import ConsentEvent

from .proofs import event_in_log
from .status import checkpoint_minutes
from .tree import inclusion_proof


def receipt_log_part(event: ConsentEvent) -> dict:
    """{"origin", "leafIndex", "leafInput", "checkpoint", "inclusionProof"} once a published checkpoint covers the
    event; before then {"origin", "leafInput", "pending": true} (download the receipt again a minute later)."""
    place = event_in_log(event)
    part = {"origin": settings.LOG_ORIGIN}
    if place.pending:
        return {**part, "leafInput": event.entry_hash, "pending": True}
    _leaf, proof = inclusion_proof(place.index, place.checkpoint.tree_size)
    return {**part, "leafIndex": place.index, "leafInput": event.entry_hash, "checkpoint": place.checkpoint.note,
            "inclusionProof": [base64.b64encode(value).decode() for value in proof]}


def receipt_email_paragraph() -> str:
    """The receipt e-mail's paragraph on the public consent log (issue #17), in the active language. The e-mail goes
    out before a checkpoint covers the change, so its copy of the receipt has no proof yet."""
    values = {"log_url": settings.SITE_URL + reverse("consent_log:about"), "minutes": checkpoint_minutes()}
    if values["minutes"] is None:
        return _(
            "You can verify this receipt against our public consent log. This e-mail is sent before the log includes "
            "the change, so the attached copy has no proof yet: once the next checkpoint is published, download the "
            "receipt again from “Your consent history” in the privacy portal. How to verify it: %(log_url)s"
        ) % values
    return ngettext(
        "You can verify this receipt against our public consent log. This e-mail is sent before the log includes the "
        "change, so the attached copy has no proof yet: after about a minute, download the receipt again from “Your "
        "consent history” in the privacy portal. How to verify it: %(log_url)s",
        "You can verify this receipt against our public consent log. This e-mail is sent before the log includes the "
        "change, so the attached copy has no proof yet: after about %(minutes)s minutes, download the receipt again "
        "from “Your consent history” in the privacy portal. How to verify it: %(log_url)s",
        values["minutes"],
    ) % values
