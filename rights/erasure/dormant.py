"""Erasure of a dormant account (rights/retention/dormancy.py): the same wipe as a client's own erasure — affiliates
told, every personal value gone — without a request, after the retention period, unless a legal hold keeps it."""

from datetime import datetime

from django.db import transaction

from accounts.models import Client

from ..holds import active_legal_holds
from ..retention.dormancy import dormant_clients
from ..retention.periods import months
from .anonymise import client_anonymise, files_delete
from .emails import dormant_erasure_email


@transaction.atomic
def dormant_client_erase(*, client_id: int, now: datetime) -> bool:
    """Erase one client still dormant at `now` and under no hold; False (nothing done) otherwise. Safe to run twice
    and from two workers: the client row is locked, and an erased client is no longer dormant."""
    client = Client.objects.select_for_update().filter(pk=client_id).first()
    if client is None or client.erased_at is not None or active_legal_holds(client=client).exists():
        return False
    if not dormant_clients(now=now).filter(pk=client_id).exists():
        return False
    final = dormant_erasure_email(client=client, months=months("RETENTION_DORMANT_ACCOUNT_MONTHS"))
    _notices, files = client_anonymise(client=client, final_message=final, at=now)
    files_delete(files)  # last, as for a requested erasure: a failed commit leaves the client for the next run
    return True
