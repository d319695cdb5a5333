"""Reads of business transfers for the portal. Each takes the client, so no page can show another client's transfer."""

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import Client

from .models import BusinessTransfer, TransferObjection, TransferSubject

ANNOUNCED = [BusinessTransfer.Status.PUBLISHED, BusinessTransfer.Status.HANDED_OVER]


def transfer_subjects_of_client(*, client: Client) -> QuerySet[TransferSubject]:
    """The announced transfers that concern this client (drafts are nobody's business yet), newest first, each with
    `objected` (whether the client objected)."""
    objection = TransferObjection.objects.filter(transfer_id=OuterRef("transfer_id"), client=client)
    return (TransferSubject.objects.filter(client=client, transfer__status__in=ANNOUNCED)
            .select_related("transfer", "transfer__new_purpose")
            .annotate(objected=Exists(objection))
            .order_by("-transfer__published_at", "-pk"))


def transfer_subject_for_client(*, client: Client, public_id) -> TransferSubject | None:
    """One announced transfer as this client sees it, or None — another client's transfer, a draft and an unknown
    id look the same."""
    return transfer_subjects_of_client(client=client).filter(transfer__public_id=public_id).first()


def objection_of(*, subject: TransferSubject) -> TransferObjection | None:
    return TransferObjection.objects.filter(transfer_id=subject.transfer_id, client_id=subject.client_id).first()
