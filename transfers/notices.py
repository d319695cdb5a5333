"""What a client is told of a business transfer: one e-mail and, where a mobile number is on file, one SMS, in the
client's language, naming the acquirer (name, contact, country), the data, the date and how to object.

The delivery rows are notify's OutboundMessage, written in the announcing transaction by one INSERT … SELECT per
channel and language (texts made once per language, 100 000 clients in a few statements), each with the idempotency
key `business-transfer:<transfer>:<channel>:<client>`: a second announcement, or a retry, queues nothing more.
After commit one task hands the queued rows to notify's sender, which sends each at most once.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django_countries import countries

from accounts.models import Client, Language
from consent.models import DataCategory
from notify.models import OutboundMessage
from notify.services import message_queue

from .models import BusinessTransfer, TransferObjection, TransferSubject

logger = logging.getLogger(__name__)

NOTICE_KIND = "business-transfer-notice"
OBJECTION_KIND = "business-transfer-objection"
LANGUAGES = (Language.EN, Language.ZH_HANS)


def notice_key_prefix(transfer: BusinessTransfer, channel: str) -> str:
    return f"business-transfer:{transfer.public_id}:{channel}:"


@dataclass(frozen=True)
class NoticeText:
    subject: str
    body: str


def _values(transfer: BusinessTransfer) -> dict:
    controller = settings.PII_CONTROLLER
    return {
        "kind": transfer.get_kind_display(), "acquirer": transfer.acquirer_name,
        "country": str(countries.name(transfer.acquirer_country)) or transfer.acquirer_country,
        "address": transfer.acquirer_address.replace("\n", ", "), "contact": transfer.acquirer_contact_name,
        "contact_email": transfer.acquirer_contact_email,
        "categories": ", ".join(str(label) for code, label in DataCategory.choices if code in transfer.data_categories),
        "handover": formats.date_format(transfer.handover_on, "DATE_FORMAT"),
        "deadline": formats.date_format(transfer.objection_deadline, "DATE_FORMAT"),
        "url": settings.SITE_URL + reverse("transfers:detail", args=[transfer.public_id]),
        "controller_email": controller["email"], "controller_address": controller["address"],
    }


def _new_purpose(transfer: BusinessTransfer, language: str) -> str:
    return transfer.new_purpose_zh_hans if language == Language.ZH_HANS else transfer.new_purpose_en


def notice_text(*, transfer: BusinessTransfer, language: str, channel: str) -> NoticeText:
    """The notice in `language` for `channel` (the same for every client: no name, so it can be inserted in bulk)."""
    with translation.override(language):
        values = _values(transfer)
        if channel == OutboundMessage.Channel.SMS:
            return NoticeText("", _(
                "Fulfillmen: in a business transfer (%(kind)s), %(acquirer)s (%(country)s) is to receive your %(categories)s on "
                "%(handover)s. To object by %(deadline)s: %(url)s") % values)
        if transfer.changes_purpose:
            purpose = _(
                "%(acquirer)s will use your data for a new purpose: %(purpose)s\nBecause the purpose changes, your "
                "data will be handed over only if you give your consent on the page below (PIPL Art. 22). If you do "
                "nothing, it will not be handed over.") % {**values, "purpose": _new_purpose(transfer, language)}
        else:
            purpose = _("%(acquirer)s will use your data only for the purposes of our privacy policy, which will "
                        "continue to protect it.") % values
        body = _(
            "Hello,\n\nFulfillmen is part of a business transfer (%(kind)s). On %(handover)s we will hand some of your "
            "personal data to the company taking over this part of our business:\n\n%(acquirer)s\n%(address)s\n%(country)s\n"
            "Contact: %(contact)s, %(contact_email)s\n\nData concerned: %(categories)s\n\n%(purpose)s\n\n"
            "You may object until %(deadline)s. If you object, your data will not be handed over. You can object on "
            "the privacy portal: %(url)s\nor by replying to this e-mail, or by letter to Fulfillmen, "
            "%(controller_address)s. The page also shows whether your data was handed over.\n\n"
            "Fulfillmen privacy team") % {**values, "purpose": purpose}
        subject = _("Your personal data is to be transferred to %(acquirer)s") % values
        return NoticeText(subject, body)


_INSERT_SQL = """
INSERT INTO {messages} (public_id, channel, kind, client_id, "to", subject, body, attachment_name, attachment_body,
    attachment_type, wipe_body_after_send, wipe_recipient_after_send, idempotency_key, status, attempts, last_error,
    created_at)
SELECT gen_random_uuid(), %(channel)s, %(kind)s, c.id, c.{address}, %(subject)s, %(body)s, '', '', '', false, false,
    %(prefix)s || c.id, %(status)s, 0, '', %(now)s
FROM {subjects} s JOIN {clients} c ON c.id = s.client_id
WHERE s.transfer_id = %(transfer)s AND c.erased_at IS NULL AND c.{address} <> '' AND {language}
ON CONFLICT (idempotency_key) DO NOTHING
"""


def transfer_notices_queue(*, transfer: BusinessTransfer) -> int:
    """Queue the notice to every client concerned (in the caller's transaction). Returns how many rows are new."""
    queued = 0
    for language in LANGUAGES:
        for channel, address in ((OutboundMessage.Channel.EMAIL, "email"), (OutboundMessage.Channel.SMS, "phone")):
            text = notice_text(transfer=transfer, language=language, channel=channel)
            queued += _insert(transfer, channel=channel, address=address, language=language, text=text)
    if queued:
        transaction.on_commit(lambda: _dispatch(transfer.pk), robust=True)
    return queued


def _insert(transfer, *, channel: str, address: str, language: str, text: NoticeText) -> int:
    # A language the portal does not offer reads English, as everywhere else.
    in_language = "c.preferred_language = 'zh-hans'" if language == Language.ZH_HANS else "c.preferred_language <> 'zh-hans'"
    prefix = notice_key_prefix(transfer, channel)
    if connection.vendor != "postgresql":  # the SQLite quick start: one row at a time is fine for a demo
        clients = (Client.objects.filter(business_transfers__transfer=transfer, erased_at__isnull=True)
                   .exclude(**{address: ""}))
        clients = clients.filter(preferred_language=Language.ZH_HANS) if language == Language.ZH_HANS else (
            clients.exclude(preferred_language=Language.ZH_HANS))
        known = set(OutboundMessage.objects.filter(idempotency_key__startswith=prefix).values_list("idempotency_key",
                                                                                                    flat=True))
        new = [client for client in clients if f"{prefix}{client.pk}" not in known]
        for client in new:
            message_queue(channel=channel, kind=NOTICE_KIND, client=client, to=getattr(client, address),
                          subject=text.subject, body=text.body, idempotency_key=f"{prefix}{client.pk}")
        return len(new)
    # Only our models' table and column names and fixed clauses go into the text; every value is a parameter.
    sql = _INSERT_SQL.format(messages=OutboundMessage._meta.db_table, subjects=TransferSubject._meta.db_table,
                             clients=Client._meta.db_table, address=address, language=in_language)  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, {"channel": channel, "kind": NOTICE_KIND, "subject": text.subject, "body": text.body,
                             "prefix": prefix, "status": OutboundMessage.Status.QUEUED, "now": timezone.now(),
                             "transfer": transfer.pk})
        return cursor.rowcount


def _dispatch(transfer_id: int) -> None:
    from .tasks import deliver_transfer_notices

    try:
        deliver_transfer_notices.delay(transfer_id)
    except Exception:  # broker down: the rows stay queued and notify's sweeper sends them
        logger.warning("Could not queue the notices of transfer %s; the sweeper will.", transfer_id, exc_info=True)


def transfer_notices_dispatch(*, transfer_id: int) -> int:
    """Hand each still-queued notice of the transfer to notify's sender (one task per message, so workers share them;
    the sender's claim makes a message go at most once however often this runs)."""
    from notify.tasks import deliver_message

    transfer = BusinessTransfer.objects.get(pk=transfer_id)
    handed = 0
    for channel in OutboundMessage.Channel.values:
        ids = (OutboundMessage.objects.filter(kind=NOTICE_KIND, status=OutboundMessage.Status.QUEUED,
                                              idempotency_key__startswith=notice_key_prefix(transfer, channel))
               .values_list("pk", flat=True))
        for message_id in ids.iterator(chunk_size=2000):
            deliver_message.delay(message_id)
            handed += 1
    return handed


def objection_confirmation_queue(*, objection: TransferObjection) -> OutboundMessage | None:
    """The client's proof that the objection was recorded, by e-mail, once."""
    client, transfer = objection.client, objection.transfer
    if not client.email or client.erased_at:
        return None
    with translation.override(client.preferred_language):
        values = _values(transfer)
        body = _(
            "Hello %(name)s,\n\nWe recorded your objection to the transfer of your personal data to %(acquirer)s "
            "(%(country)s), received on %(received)s (%(channel)s). Your data will not be handed over to "
            "%(acquirer)s.\nYou can see this on the privacy portal: %(url)s\n\nFulfillmen privacy team"
        ) % {**values, "name": client.full_name, "channel": objection.get_channel_display(),
             "received": formats.date_format(objection.received_on, "DATE_FORMAT")}
        return message_queue(channel=OutboundMessage.Channel.EMAIL, kind=OBJECTION_KIND, client=client, to=client.email,
                             subject=_("Your objection to the transfer to %(acquirer)s is recorded") % values,
                             body=body, idempotency_key=f"business-transfer-objection:{objection.pk}")
