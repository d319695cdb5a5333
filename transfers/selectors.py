"""Reads of business transfers for the portal. Each takes the client, so no page can show another client's transfer."""

from django.db.models import Exists, F, OuterRef, QuerySet

from accounts.models import Client
from accounts.page_fragments import VersionPart, rows_digest_sql

from .models import BusinessTransfer, TransferObjection, TransferSubject

ANNOUNCED = [BusinessTransfer.Status.PUBLISHED, BusinessTransfer.Status.HANDING_OVER, BusinessTransfer.Status.HANDED_OVER]


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


def new_purposes() -> QuerySet:
    """The consent purposes transfers created for a new purpose (consent/offers.py: offered only to some clients)."""
    return BusinessTransfer.objects.filter(new_purpose__isnull=False).values_list("new_purpose_id", flat=True)


def new_purpose_audiences() -> QuerySet:
    """To whom each is offered: the clients the transfer concerns (rows with `client_id` and `purpose_id`)."""
    return (TransferSubject.objects.filter(transfer__new_purpose__isnull=False)
            .annotate(purpose_id=F("transfer__new_purpose_id")))


def transfers_version_sql(client_id: int) -> list[VersionPart]:
    """For a kept portal page (accounts/page_fragments.py): everything the reads above return for this client —
    every transfer (few: one per merger or sale), the client's subjects and objections."""
    return [rows_digest_sql(BusinessTransfer._meta.db_table),
            rows_digest_sql(TransferSubject._meta.db_table, "t.client_id = %s", (client_id,)),
            rows_digest_sql(TransferObjection._meta.db_table, "t.client_id = %s", (client_id,))]
