"""Each client an open disclosure concerns is on legal hold: one `LegalHold` row per client and disclosure, set when
the request is recorded (or the client added to it) and released when it is closed (or the client removed).

Kept in step by the `disclosure_scope_changed` signal, inside the disclosure's own transaction: disclosures, a lower
floor, knows nothing of rights.
"""

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from disclosures.models import Disclosure
from disclosures.services import OPEN_STATUSES
from disclosures.signals import disclosure_scope_changed
from sharing.partitions import retention_gate_shared

from .models import LegalHold


@transaction.atomic
def disclosure_holds_sync(*, disclosure: Disclosure, actor) -> None:
    """One active hold per client while the disclosure is open; none once it is closed."""
    wanted = (set(disclosure.subjects.values_list("client_id", flat=True))
              if disclosure.status in OPEN_STATUSES else set())
    active = dict(LegalHold.objects.select_for_update()
                  .filter(disclosure=disclosure, released_at__isnull=True).values_list("client_id", "pk"))
    if wanted - set(active):
        retention_gate_shared()  # a month of sharing records being dropped reads these holds (sharing/partitions.py)
    LegalHold.objects.bulk_create([LegalHold(client_id=client_id, disclosure=disclosure, reason="", set_by=actor)
                                   for client_id in sorted(wanted - set(active))])
    ended = [pk for client_id, pk in active.items() if client_id not in wanted]
    if ended:
        LegalHold.objects.filter(pk__in=ended).update(
            released_at=timezone.now(), released_by=actor,
            release_reason=_("The disclosure request was closed or no longer concerns this client."))


@receiver(disclosure_scope_changed, dispatch_uid="rights.disclosure_holds_sync")
def _disclosure_scope_changed(sender, *, disclosure, actor, **kwargs):
    disclosure_holds_sync(disclosure=disclosure, actor=actor)
