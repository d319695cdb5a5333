"""The erasure itself: every table that can hold a client's personal values, wiped or deleted, in the caller's
transaction. Only `client_anonymise` is called from outside; each step below names what it removes and why it
removes it that way.

Kept on purpose: the client row (UUID, country and jurisdiction — which law the request log answers to; neither
identifies anyone alone), consent events and chain (their hashes cover only a salted digest of the personal
values, which are deleted here, so `verify_ledger` still passes), sharing records and withdrawal notices, the
request log with its outcome, and disclosure records (a legal obligation). The staff access log is kept too and not
touched (its trigger refuses UPDATE and DELETE): a row holds the client reference, the staff member, the field names
and the admin path, never a value, so once the client row is anonymised it is pseudonymous, like a sharing record.
"""

import json
import logging
import re
from dataclasses import dataclass
from importlib import import_module

import phonenumbers
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Replace
from django.utils import timezone

from accounts.models import Address, Client, EmailChangeRequest, IPObservation, User
from accounts.page_fragments import dashboard_fragments_forget
from amendments.models import NoticeDelivery
from consent.history_page import history_fragments_forget
from consent.models import ConsentEventPersonalData
from notify.models import OutboundMessage
from sharing.received_page import received_fragments_forget
from sharing.services import withdrawal_notices_for_erasure

from ..erasure_page import erasure_page_fragments_forget
from ..models import DataExport, DataSubjectRequest, LegalHold, RequestMessage

logger = logging.getLogger(__name__)

ERASED_NAME = "Erased client"
ERASED_TEXT = "[erased]"
ERASED_EMAIL_DOMAIN = "erased.invalid"  # RFC 2606: never delivered anywhere


def erased_email(client: Client) -> str:
    """Unique per client (both e-mail columns are unique) and personal to nobody."""
    return f"erased-{client.public_id}@{ERASED_EMAIL_DOMAIN}"


def _phone_forms(phone: str) -> list[str]:
    """The number as it may have been written anywhere: E.164, international and national, with and without spaces."""
    if not phone:
        return []
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return [phone]
    formats = [phonenumbers.format_number(number, f) for f in (phonenumbers.PhoneNumberFormat.E164,
               phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.NATIONAL)]
    national_digits = re.sub(r"\D", "", formats[2])
    return sorted({phone, *formats, national_digits}, key=len, reverse=True)


@dataclass(frozen=True)
class Identity:
    """The values that identify the client, taken before anything is wiped: what free text is searched for."""

    email: str
    name: str
    phones: tuple[str, ...]
    user_id: int | None

    @classmethod
    def of(cls, client: Client) -> "Identity":
        return cls(email=client.email, name=client.full_name, phones=tuple(_phone_forms(client.phone)),
                   user_id=client.user_id)

    def _pattern(self) -> re.Pattern | None:
        parts = []
        for needle in sorted({self.email, self.name, *self.phones} - {""}, key=len, reverse=True):
            escaped = re.escape(needle)
            # A name is only replaced as a whole word ("Li" must not eat "Limited"); addresses and numbers anywhere.
            if needle == self.name and needle[:1].isalnum() and needle[-1:].isalnum():
                escaped = rf"(?<!\w){escaped}(?!\w)"
            parts.append(escaped)
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def redact(self, text: str) -> str:
        pattern = self._pattern()
        return pattern.sub(ERASED_TEXT, text) if pattern and text else text

    def mentioned_in(self, *fields: str) -> Q:
        """Rows whose `fields` contain the e-mail address or the phone number (names are too common to search)."""
        query = Q(pk__in=[])
        for field in fields:
            query |= Q(**{f"{field}__icontains": self.email})
            for phone in self.phones:
                query |= Q(**{f"{field}__contains": phone})
        return query


def _redact_rows(rows, identity: Identity, fields: list[str]) -> int:
    """Keep rows that are evidence, with the client's values replaced in their free text."""
    changed = []
    for row in rows:
        before = [getattr(row, f) for f in fields]
        for f in fields:
            setattr(row, f, identity.redact(getattr(row, f)))
        if [getattr(row, f) for f in fields] != before:
            changed.append(row)
    if changed:
        type(changed[0]).objects.bulk_update(changed, fields)
    return len(changed)


def _messages_wipe(client: Client, identity: Identity, *, keep: OutboundMessage) -> None:
    """Delivery rows stay as proof that something was sent; what was sent and to whom goes. Anything still queued
    is not sent at all. Other rows (staff notifications) that quote the address keep their text, redacted."""
    now = timezone.now()
    mine = (OutboundMessage.objects.filter(Q(client=client) | Q(to__iexact=identity.email) | Q(to__in=identity.phones))
            .exclude(pk=keep.pk))
    mine.filter(status=OutboundMessage.Status.QUEUED).update(
        status=OutboundMessage.Status.SKIPPED, finished_at=now, last_error="Not sent: the client's data was erased first.")
    for needle in (identity.email, *identity.phones):  # a transport's error may quote the address
        mine.update(last_error=Replace("last_error", Value(needle), Value(ERASED_TEXT)))
    mine.update(to="", subject="", body="", attachment_body="")
    quoting = OutboundMessage.objects.exclude(pk=keep.pk).filter(identity.mentioned_in("subject", "body", "last_error"))
    _redact_rows(quoting, identity, ["subject", "body", "last_error"])


def _requests_wipe(client: Client, identity: Identity) -> None:
    """The request log keeps date, type, channel, due and response dates, outcome and reason for denial
    (11 CCR 7101); what the client wrote, who they said they were and the thread go."""
    requests = DataSubjectRequest.objects.filter(Q(client=client) | Q(requester_email__iexact=identity.email))
    RequestMessage.objects.filter(request__in=requests).update(body=ERASED_TEXT)
    requests.update(requester_name="", requester_email="", details="")
    _redact_rows(requests, identity, ["outcome", "refusal_reason", "extension_reason"])


def _files_of_exports(client: Client) -> list[tuple[object, str]]:
    """Exports go from storage; one still being built is failed, so its task builds and e-mails nothing."""
    DataExport.objects.filter(client=client, status=DataExport.Status.BUILDING).update(status=DataExport.Status.FAILED)
    exports = DataExport.objects.filter(client=client).exclude(file="")
    storage = DataExport._meta.get_field("file").storage
    files = [(storage, name) for name in exports.values_list("file", flat=True)]
    exports.update(file="", sha256="")
    return files


def _ledger_personal_values_drop(client: Client) -> list[tuple[object, str]]:
    """The ledger's design: the personal values beside each event are deleted (the trigger allows DELETE, never
    UPDATE); each event's hash covers only their salted digest, so every chain still verifies."""
    rows = ConsentEventPersonalData.objects.filter(event__client=client)
    storage = ConsentEventPersonalData._meta.get_field("evidence_file").storage
    files = [(storage, name) for name in rows.exclude(evidence_file="").values_list("evidence_file", flat=True)]
    rows.delete()
    return files


def _notice_deliveries_skip(client: Client, identity: Identity) -> None:
    """Policy notices not yet sent are not sent to an erased client; errors that quote the address are redacted."""
    deliveries = NoticeDelivery.objects.filter(client=client)
    deliveries.filter(status=NoticeDelivery.Status.QUEUED).update(
        status=NoticeDelivery.Status.SKIPPED, reason="Not sent: the client's data was erased.")
    for needle in (identity.email, *identity.phones):
        deliveries.update(reason=Replace("reason", Value(needle), Value(ERASED_TEXT)))


def _access_logs_delete(identity: Identity) -> None:
    """django-axes keeps the typed login (the e-mail), IP, browser and form data of each attempt: all of it goes."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__iexact=identity.email).delete()


def _change_message_scrub(message: str, identity: Identity, *, own: bool) -> str:
    """Django's JSON change messages name inline objects ("Added address “Street 1, City”")."""
    try:
        entries = json.loads(message)
    except ValueError:
        return identity.redact(message)
    if not isinstance(entries, list):
        return identity.redact(message)
    for entry in entries:
        for detail in entry.values() if isinstance(entry, dict) else []:
            if isinstance(detail, dict) and "object" in detail:
                detail["object"] = ERASED_TEXT if own else identity.redact(str(detail["object"]))
    return json.dumps(entries)


def _admin_log_scrub(client: Client, identity: Identity) -> None:
    """The admin history stays (who changed what, when); the names of the changed objects lose the client."""
    types = ContentType.objects.get_for_models(Client, User, Address, IPObservation)
    own = (Q(content_type=types[Client], object_id=str(client.pk))
           | Q(content_type=types[Address], object_id__in=[str(pk) for pk in client.addresses.values_list("pk", flat=True)])
           | Q(content_type=types[IPObservation],
               object_id__in=[str(pk) for pk in client.ip_observations.values_list("pk", flat=True)]))
    if identity.user_id:
        own |= Q(content_type=types[User], object_id=str(identity.user_id))
    own_ids = set(LogEntry.objects.filter(own).values_list("pk", flat=True))
    changed = []
    for entry in LogEntry.objects.filter(Q(pk__in=own_ids) | identity.mentioned_in("object_repr", "change_message")):
        is_own = entry.pk in own_ids
        entry.object_repr = f"{ERASED_NAME} {client.public_id}" if is_own else identity.redact(entry.object_repr)
        entry.change_message = _change_message_scrub(entry.change_message, identity, own=is_own)
        changed.append(entry)
    LogEntry.objects.bulk_update(changed, ["object_repr", "change_message"])


def _sessions_end(user_id: int) -> None:
    """Log the client out everywhere: their sessions also hold the last IP address seen."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return  # cache-only sessions cannot be listed; the disabled login refuses them on the next request
    cached = []  # cached_db: the cached copies go now and again at commit (a request in between may cache one again)
    for session in store.get_model_class().objects.iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            store(session_key=session.session_key).delete()
            if hasattr(store, "cache_key_prefix"):
                cached.append(store.cache_key_prefix + session.session_key)
    if cached:
        transaction.on_commit(lambda: _session_copies_delete(cached))


def _session_copies_delete(keys: list[str]) -> None:
    try:
        caches[settings.SESSION_CACHE_ALIAS].delete_many(keys)
    except Exception:  # the erasure has committed; the copies expire with SESSION_COOKIE_AGE
        logger.error("cached copies of an erased client's sessions not deleted (cache unavailable)", exc_info=True)


def _login_disable(client: Client) -> None:
    if not client.user_id:
        return
    user = User.objects.select_for_update().get(pk=client.user_id)
    user.email, user.is_active = erased_email(client), False
    user.set_unusable_password()
    user.save(update_fields=["email", "is_active", "password"])
    _sessions_end(user.pk)


def _email_changes_wipe(client: Client) -> None:
    """Who asked for each change of address and when stays; the addresses and the links go (a pending one with them)."""
    EmailChangeRequest.objects.filter(client=client, status=EmailChangeRequest.Status.PENDING).update(
        status=EmailChangeRequest.Status.EXPIRED)
    EmailChangeRequest.objects.filter(client=client).update(new_email="", token_digest=None)


def _affiliates_notify(client: Client, *, at) -> int:
    return withdrawal_notices_for_erasure(client=client, at=at)


def _holds_redact(client: Client, identity: Identity) -> None:
    _redact_rows(LegalHold.objects.filter(client=client), identity, ["reason", "release_reason"])


def client_anonymise(*, client: Client, final_message: OutboundMessage, at) -> tuple[int, list[tuple[object, str]]]:
    """Wipe everything personal about `client` (locked by the caller, inside its transaction).

    Returns the number of affiliate notices and the files to delete: the caller deletes them last, just before its
    transaction commits (a failed commit leaves the request scheduled, and the next run finishes the job).
    """
    identity = Identity.of(client)
    notices = _affiliates_notify(client, at=at)
    _messages_wipe(client, identity, keep=final_message)
    _requests_wipe(client, identity)
    _notice_deliveries_skip(client, identity)
    _holds_redact(client, identity)
    _access_logs_delete(identity)
    _admin_log_scrub(client, identity)
    files = _files_of_exports(client) + _ledger_personal_values_drop(client)
    Address.objects.filter(client=client).delete()
    IPObservation.objects.filter(client=client).delete()
    _email_changes_wipe(client)
    _login_disable(client)
    # The pages kept rendered in the cache: the consent history's first page, "Your choices", "Who received", the
    # dashboard, "Erase your data".
    history_fragments_forget(client=client)
    received_fragments_forget(client=client)
    dashboard_fragments_forget(owner_id=client.pk)
    erasure_page_fragments_forget(client=client)
    Client.objects.filter(pk=client.pk).update(full_name=ERASED_NAME, email=erased_email(client), phone="", region="",
                                               erased_at=at, updated_at=at)
    return notices, files


def files_delete(files: list[tuple[object, str]]) -> None:
    for storage, name in files:
        storage.delete(name)
