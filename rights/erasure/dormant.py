"""Erasure of a dormant account (rights/retention/dormancy.py): first a warning, RETENTION_DORMANT_WARNING_DAYS
before, naming the date; then, once that date has come and the client is still dormant, the same wipe as a client's
own erasure — affiliates told, every personal value gone — without a request, unless a legal hold keeps it."""

from datetime import datetime

from django.db import transaction

from accounts.models import Client
from notify.models import OutboundMessage

from ..holds import active_legal_holds
from ..retention.dormancy import WARNING_KIND, dormant_clients_due, dormant_clients_to_warn, erasure_date
from ..retention.periods import months
from .anonymise import client_anonymise, files_delete
from .emails import dormant_erasure_email, dormant_warning_email


def _locked_unheld(client_id: int) -> Client | None:
    client = Client.objects.select_for_update().filter(pk=client_id).first()
    if client is None or client.erased_at is not None or active_legal_holds(client=client).exists():
        return None
    return client


@transaction.atomic
def dormant_client_warn(*, client_id: int, now: datetime) -> bool:
    """E-mail one client who will be dormant within the warning days, not yet warned in this dormancy and under no
    hold: the date of the erasure, how to keep the account, what stays. False (nothing sent) otherwise.

    Once per dormancy: the client row is locked, a warned client no longer matches `dormant_clients_to_warn`, and
    the idempotency key names the client and the how-many-th dormancy this is. A held client is not warned: the
    e-mail would name a date on which nothing happens (docs/retention.md)."""
    client = _locked_unheld(client_id)
    if client is None or not dormant_clients_to_warn(now=now).filter(pk=client_id).exists():
        return False
    dormancy = OutboundMessage.objects.filter(client=client, kind=WARNING_KIND).count() + 1
    dormant_warning_email(client=client, erase_on=erasure_date(now), months=months("RETENTION_DORMANT_ACCOUNT_MONTHS"),
                          idempotency_key=f"{WARNING_KIND}:{client.public_id}:{dormancy}")
    return True


@transaction.atomic
def dormant_client_erase(*, client_id: int, now: datetime) -> bool:
    """Erase one client still dormant at `now`, warned in this dormancy at least the warning days ago, and under no
    hold; False (nothing done) otherwise. Safe to run twice and from two workers: the client row is locked, and an
    erased client is no longer dormant."""
    client = _locked_unheld(client_id)
    if client is None or not dormant_clients_due(now=now).filter(pk=client_id).exists():
        return False
    final = dormant_erasure_email(client=client, months=months("RETENTION_DORMANT_ACCOUNT_MONTHS"))
    _notices, files = client_anonymise(client=client, final_message=final, at=now)
    files_delete(files)  # last, as for a requested erasure: a failed commit leaves the client for the next run
    return True
