"""Processors as recipients (issue #18; GDPR Art. 28, 30(1)(d); PIPL Art. 21): the e-mail and SMS providers are
affiliates of kind processor in the catalogue, with a processor agreement (a SharingAgreement per purpose they work
for, with the fields they process). Each message sent to a client leaves a SharingRecord naming the provider, in the
transaction that marks the message sent — notify and amendments call the hook registered here (apps.py).

Which processor delivers what is configuration: EMAIL_PROCESSOR and SMS_PROCESSOR name catalogue entries (migration
0007 seeds the defaults). The console backends of `make run` still count as the configured provider.
"""

import logging

from django.conf import settings
from django.db import connection

from accounts.bulk import ids_reserve, rows_insert
from accounts.page_fragments import VersionPart, query_digest_part
from consent.models import Purpose
from notify.hooks import SentMessage

from .models import DATA_CATEGORY_BITS, Affiliate, ProcessorTally, SharingRecord
from .services import SHARING_RECORD_FIELDS

logger = logging.getLogger(__name__)

# The purpose each kind of message serves (the purpose catalogue's codes). Account security and sign-up:
# identification; policy notices: service updates (the purpose says so); receipts, answers to rights requests,
# erasure and disclosure notices: the law obliges us to send them.
MESSAGE_PURPOSES = {
    "consent-receipt": "legal-obligation",
    "disclosure-notice": "legal-obligation",
    "data-export-ready": "legal-obligation",
    "email-change-confirm": "identification",
    "email-change-notice": "identification",
    "email-change-done": "identification",
    "password-reset": "identification",
    "signup-attempt": "identification",
    "signup-confirm": "identification",
    "policy-notice": "service-updates",
    "policy-reminder": "service-updates",
}
PREFIX_PURPOSES = (("dsr-", "legal-obligation"), ("erasure-", "legal-obligation"), ("breach-", "legal-obligation"),
                   ("policy-", "service-updates"))
DEFAULT_PURPOSE = "customer-service"  # any other message to a client: we are answering or serving them


def message_purpose(kind: str) -> str:
    if kind in MESSAGE_PURPOSES:
        return MESSAGE_PURPOSES[kind]
    for prefix, code in PREFIX_PURPOSES:
        if kind.startswith(prefix):
            return code
    return DEFAULT_PURPOSE


def processor_names() -> dict[str, str]:
    """Channel -> the configured processor's name."""
    return {"email": settings.EMAIL_PROCESSOR, "sms": settings.SMS_PROCESSOR}


def messages_sent_record(batch: list[SentMessage]) -> None:
    """One sharing record per message of `batch`, in one INSERT (the caller's transaction): to the channel's
    processor, for the purpose the message serves, with the data it carried. Three queries whatever the batch size.

    A processor missing from the catalogue is still named (the record keeps its configured name, no country) and
    logged as an error: a message that went out always has its record."""
    names = processor_names()
    processors = {a.name: a for a in Affiliate.objects.filter(name__in=set(names.values()), kind=Affiliate.Kind.PROCESSOR)}
    for channel, name in names.items():
        if name not in processors and any(m.channel == channel for m in batch):
            logger.error("The %s processor %r is not in the catalogue as a processor; its sharing records name it "
                         "without a country. Add it in the admin (Sharing > Affiliates).", channel, name)
    purposes = dict(Purpose.objects.filter(code__in={message_purpose(m.kind) for m in batch}).values_list("code", "pk"))
    rows = []
    for message in batch:
        purpose_id = purposes.get(message_purpose(message.kind))
        if purpose_id is None:  # the catalogue lost the purpose: keep the evidence under customer service
            purpose_id = Purpose.objects.values_list("pk", flat=True).get(code=DEFAULT_PURPOSE)
        name = names.get(message.channel, message.channel)
        processor = processors.get(name)
        # A processor abroad receives the datum under its transfer mechanism, kept with the record like any other's.
        mechanism = processor.transfer_mechanism if processor is not None and processor.abroad else ""
        rows.append((message.client_id, processor.pk if processor else None, name,
                     str(processor.country) if processor else "", purpose_id, list(message.fields), message.sent_at,
                     mechanism))
    ids = ids_reserve(SharingRecord, len(rows))
    rows_insert(SharingRecord, [*SHARING_RECORD_FIELDS, "withheld_until"], [
        (record_id, client_id, affiliate_id, name, country, purpose_id, fields, at, None, None, mechanism, None)
        for record_id, (client_id, affiliate_id, name, country, purpose_id, fields, at, mechanism)
        in zip(ids, rows, strict=True)
    ])
    _tallies_add([(client_id, name, country, purpose_id, fields, at)
                  for client_id, affiliate_id, name, country, purpose_id, fields, at, _ in rows if affiliate_id is not None])


def _fields_key(fields) -> str:
    return ",".join(sorted(set(fields)))


def _tallies_add(records: list[tuple]) -> None:
    """Add `records` (client, processor name, country, purpose, fields, sent at) to the processors' tallies: one
    statement, rows in key order (two batches for the same clients lock the same rows in the same order). Plain SQL
    that PostgreSQL and SQLite both run."""
    tallies: dict[tuple, list] = {}
    for client_id, name, country, purpose_id, fields, at in records:
        tally = tallies.setdefault((client_id, name, country, purpose_id, _fields_key(fields)), [0, at])
        tally[0] += 1
        tally[1] = max(tally[1], at)
    if not tallies:
        return
    last_at = ProcessorTally._meta.get_field("last_at")
    params = []
    for key in sorted(tallies):
        times, at = tallies[key]
        params += [*key, times, last_at.get_db_prep_value(at, connection)]
    table = connection.ops.quote_name(ProcessorTally._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(tallies))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (client_id, recipient_name, recipient_country, purpose_id, fields, times, last_at) "  # nosec B608: names are ours
            f"VALUES {values} ON CONFLICT (client_id, recipient_name, recipient_country, purpose_id, fields) DO UPDATE "
            f"SET times = {table}.times + excluded.times, last_at = CASE WHEN excluded.last_at > {table}.last_at "
            f"THEN excluded.last_at ELSE {table}.last_at END", params)


def _tally_rows(client_id: int):
    return ProcessorTally.objects.filter(client_id=client_id).values(
        "recipient_name", "recipient_country", "purpose_id", "purpose__code", "purpose__title_en", "purpose__title_zh_hans",
        "fields", "times", "last_at")


def processor_summary_version_sql(client_id: int) -> list[VersionPart]:
    """For a kept "Who received your data": the tallies `processor_summary_of_client` reads, with their purposes'
    titles, as the same query returns them."""
    return [query_digest_part(_tally_rows, client_id)]


def processor_summary_of_client(*, client) -> list[dict]:
    """The "Processors" part of "Who received your data": per processor and purpose, what it processed, how often
    and when last — read from the tallies (`ProcessorTally`), a few rows whatever the length of the history.
    Processor records are never withheld (a disclosure names an authority), so the tallies count them all."""
    rows = _tally_rows(client.pk).order_by("recipient_name", "purpose__code")
    merged: dict[tuple, dict] = {}
    for row in rows:
        key = (row["recipient_name"], row["recipient_country"], row["purpose_id"])
        fields, times, last = row.pop("fields"), row.pop("times"), row.pop("last_at")
        entry = merged.setdefault(key, {**row, "fields": set(), "times": 0, "last": last})
        entry["fields"].update(fields.split(",") if fields else [])
        entry["times"] += times
        entry["last"] = max(entry["last"], last)
    return list(merged.values())


def processor_tallies_rebuild() -> None:
    """Fill empty tallies from the processor records in the table (a bulk load that wrote records without the
    tallies, e.g. bench/history.py): one grouped INSERT, fields decoded from their bit set as `_fields_key` writes them."""
    bits = ", ".join(f"('{code}', {bit})" for code, bit in DATA_CATEGORY_BITS.items())  # our constants only
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sharing_processortally (client_id, recipient_name, recipient_country, purpose_id, fields, times, "  # nosec B608
            "last_at) SELECT r.client_id, r.recipient_name, r.recipient_country, r.purpose_id, "
            "coalesce((SELECT string_agg(b.code, ',' ORDER BY b.code COLLATE \"C\") "
            f"FROM (VALUES {bits}) b(code, bit) WHERE r.fields & (1 << b.bit) <> 0), ''), count(*), max(r.shared_at) "
            "FROM sharing_sharingrecord r JOIN sharing_affiliate a ON a.id = r.affiliate_id WHERE a.kind = 'processor' "
            "GROUP BY 1, 2, 3, 4, 5")
