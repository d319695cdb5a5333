"""Every retention period, declared once: per kind of data, how long it is kept, what happens then (deleted,
anonymised, erased with the account, or kept as evidence), which items have expired, and which a legal hold keeps.

The retention job (`enforce`) reads `retention_rules()`; "Your data" and the export read `retention_text(code)`,
so what the client is told and what the job does come from the same entry. Periods come from settings
(RETENTION_*, CONSENT_RECORD_RETENTION_YEARS); a text is rendered, in the reader's language, when it is shown.

Adding a kind of data: add a `RetentionRule` here (or, from an app above rights, call `retention_rule_register` in
its AppConfig.ready()) with its period, `expired(now)`, `apply(items, now)` and, for data about a client, `held`
(usually `held_via("client_id")`); tests/rights/test_retention.py builds data on both sides of each boundary.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.models import Session
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Client, EmailChangeRequest, IPObservation, PendingSignup
from consent.receipts import consent_record_retention
from notify.models import OutboundMessage

from ..models import AuthorisedAgent, DataExport, DataSubjectRequest, LegalHold, RequestAppeal, RequestMessage
from ..services import CLOSED
from .dormancy import dormant_clients, dormant_clients_to_warn, warning_given_in_time
from .periods import days_text, months, months_before, period_text, warning_days

ERASED_TEXT = "[erased]"  # as rights.erasure writes it into a request's thread
EMAIL_LINK_DIGEST_KEPT = timedelta(days=30)  # an old link still says "expired" rather than "invalid" for a month


class Action(StrEnum):
    DELETE = "delete"        # the rows go
    ANONYMISE = "anonymise"  # the rows stay as a record; their personal values go
    ERASE = "erase"          # the client's whole account is erased (rights/erasure), affiliates told
    WARN = "warn"            # the client is told, before an erasure, that it is coming (nothing is deleted)
    KEEP = "keep"            # evidence the law makes us keep: the job never shortens it


@dataclass(frozen=True)
class RetentionRule:
    code: str                                                   # stable: the RetentionRun key, the command's line
    title: str                                                  # what it covers, for staff (command, dashboard)
    action: Action
    law: str                                                    # why this period, for the docs and auditors
    text: Promise | None = None                                 # what clients read, in their language
    model: type[Model] | None = None
    expired: Callable[[datetime], QuerySet] | None = None       # items past their period and not yet dealt with
    apply: Callable[[QuerySet, datetime], int] | None = None    # deal with those items; returns how many
    held: Callable[[], object] | None = None                    # a Q/Exists: the items a legal hold keeps
    batch_size: int | None = None                               # None: RETENTION_BATCH_SIZE


def held_via(client_path: str) -> Callable[[], Exists]:
    """Items whose client (reached by `client_path`) is under an active legal hold: kept as they are."""
    return lambda: Exists(LegalHold.objects.filter(client_id=OuterRef(client_path), released_at__isnull=True))


def _held_by_login() -> Exists:
    """django-axes rows name the login typed (an e-mail), not a client."""
    return Exists(LegalHold.objects.filter(client__email__iexact=OuterRef("username"), released_at__isnull=True))


def _text(message: Promise, setting: str) -> Promise:
    """`message` with its %(period)s filled from the setting, in the active language, whenever it is shown."""
    return lazy(lambda: str(message) % {"period": period_text(months(setting))}, str)()


def _delete(items: QuerySet, now: datetime) -> int:
    return items.delete()[1].get(items.model._meta.label, 0)


# --- what expires, and what happens to it ---------------------------------------------------------------------------

def _ip_expired(now: datetime) -> QuerySet:
    return IPObservation.objects.filter(last_seen__lt=months_before(now, months("RETENTION_IP_ADDRESS_MONTHS")))


def _login_rows_expired(model: type[Model]) -> Callable[[datetime], QuerySet]:
    return lambda now: model.objects.filter(attempt_time__lt=months_before(now, months("RETENTION_IP_ADDRESS_MONTHS")))


def _messages_expired(now: datetime) -> QuerySet:
    cutoff = months_before(now, months("RETENTION_MESSAGE_MONTHS"))
    finished = (OutboundMessage.objects.exclude(status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING])
                .filter(Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff)))
    return finished.filter(~Q(to="") | ~Q(subject="") | ~Q(body="") | ~Q(attachment_name="") | ~Q(attachment_body="")
                           | ~Q(last_error=""))


def _messages_wipe(items: QuerySet, now: datetime) -> int:
    """The delivery row stays (when, which channel, what kind, how it ended); to whom and what it said go."""
    return items.update(to="", subject="", body="", attachment_name="", attachment_body="", last_error="")


def _requests_expired(now: datetime) -> QuerySet:
    cutoff = months_before(now, months("RETENTION_REQUEST_LOG_MONTHS"))
    closed = Q(status__in=CLOSED) & (Q(completed_at__lt=cutoff) | Q(completed_at__isnull=True, received_at__lt=cutoff))
    never_verified = Q(status=DataSubjectRequest.Status.UNVERIFIED, received_at__lt=cutoff)
    texts = Exists(RequestMessage.objects.filter(request=OuterRef("pk")).exclude(body=ERASED_TEXT))
    agent = Exists(AuthorisedAgent.objects.filter(request=OuterRef("pk")).filter(~Q(agent_email="") | ~Q(permission_file="")))
    grounds = Exists(RequestAppeal.objects.filter(request=OuterRef("pk")).exclude(grounds=""))
    return DataSubjectRequest.objects.filter(closed | never_verified).filter(
        ~Q(requester_name="") | ~Q(requester_email="") | ~Q(details="") | texts | agent | grounds)


def _requests_wipe(items: QuerySet, now: datetime) -> int:
    """What the request and its thread said, who a public-form requester (or their authorised agent) said they were,
    the agent's signed permission and the grounds of an appeal go; the log's dates, type, channel, status, outcome,
    reason for refusal and an appeal's decision stay (11 CCR 7101)."""
    RequestMessage.objects.filter(request__in=items).exclude(body=ERASED_TEXT).update(body=ERASED_TEXT)
    RequestAppeal.objects.filter(request__in=items).exclude(grounds="").update(grounds="")
    agents = AuthorisedAgent.objects.filter(request__in=items)
    storage = AuthorisedAgent._meta.get_field("permission_file").storage
    files = [name for name in agents.values_list("permission_file", flat=True) if name]
    agents.update(agent_name="", agent_email="", permission_name="", permission_file="")
    for name in files:  # deleted before the commit: if it fails, the rows still name them and the next run clears them
        storage.delete(name)
    return items.update(requester_name="", requester_email="", details="")


def _released_holds_expired(now: datetime) -> QuerySet:
    return LegalHold.objects.filter(
        released_at__lt=months_before(now, months("RETENTION_RELEASED_HOLD_MONTHS")))


def _export_files_expired(now: datetime) -> QuerySet:
    return DataExport.objects.filter(expires_at__lte=now).exclude(file="")


def _export_files_delete(items: QuerySet, now: datetime) -> int:
    """The row stays as the record of the request; the file leaves storage. Deleted before the commit: a link past its
    expiry answers 410 without opening the file, so a failed commit loses nothing, and the next run clears the row."""
    storage = DataExport._meta.get_field("file").storage
    names = list(items.values_list("file", flat=True))
    count = items.update(file="")
    for name in names:
        storage.delete(name)
    return count


def _email_links_expired(now: datetime) -> QuerySet:
    pending = EmailChangeRequest.Status.PENDING
    return EmailChangeRequest.objects.filter(
        Q(status=pending, expires_at__lte=now)
        | Q(token_digest__isnull=False, expires_at__lte=now - EMAIL_LINK_DIGEST_KEPT))


def _email_links_close(items: QuerySet, now: datetime) -> int:
    """A pending request past its link's expiry is closed as expired; a month later the link's digest goes too."""
    Status = EmailChangeRequest.Status
    items.filter(status=Status.PENDING).update(status=Status.EXPIRED, closed_at=now)
    items.filter(expires_at__lte=now - EMAIL_LINK_DIGEST_KEPT).update(token_digest=None)
    return items.count()


def _dormant_expired(now: datetime) -> QuerySet:
    """Dormant, and either warned at least the warning days ago (due), or under a hold (counted as kept). A dormant
    client not yet warned, or warned too recently, has not reached the end of their period yet."""
    return dormant_clients(now=now).filter(Q(warning_given_in_time(now)) | Q(held_via("pk")()))


def _dormant_erase(items: QuerySet, now: datetime) -> int:
    from ..erasure.dormant import dormant_client_erase  # erasure imports `periods`; imported here, not at the top

    return sum(dormant_client_erase(client_id=pk, now=now) for pk in items.values_list("pk", flat=True))


def _dormant_warn(items: QuerySet, now: datetime) -> int:
    from ..erasure.dormant import dormant_client_warn

    return sum(dormant_client_warn(client_id=pk, now=now) for pk in items.values_list("pk", flat=True))


# --- the texts clients read -----------------------------------------------------------------------------------------

def _account_text() -> str:
    return str(ACCOUNT_MESSAGE) % {"period": period_text(months("RETENTION_DORMANT_ACCOUNT_MONTHS")),
                                   "warning": days_text(warning_days())}


ACCOUNT_MESSAGE = _(
    "While you use your account. After %(period)s with no log-in or other activity and no open request, it is erased "
    "as if you had asked. We e-mail you %(warning)s before, and logging in keeps it; you are told by e-mail once it "
    "is erased. Earlier when you ask. A legal hold keeps it longer.")
ACCOUNT_TEXT = lazy(_account_text, str)()
LEDGER_TEXT = _("At least 3 years after the event (PIPL Art. 56), as proof of who received your data.")

RULES: tuple[RetentionRule, ...] = (
    # First: a dormant client's erasure reads every session (rights.erasure.anonymise._sessions_end).
    RetentionRule(
        code="sessions", title="Expired log-in sessions", action=Action.DELETE, law="GDPR Art. 5(1)(e)", model=Session,
        expired=lambda now: Session.objects.filter(expire_date__lt=now), apply=_delete),
    RetentionRule(
        code="dormant_accounts", title="Dormant accounts (identity, addresses, e-mail changes, policy notices)",
        action=Action.ERASE, law="GDPR Art. 5(1)(e); PIPL Art. 19, 47(1)", text=ACCOUNT_TEXT, model=Client,
        expired=_dormant_expired, apply=_dormant_erase, held=held_via("pk"), batch_size=1),
    RetentionRule(
        code="dormant_warnings", title="Dormant accounts warned of their erasure (e-mail, once per dormancy)",
        action=Action.WARN, law="GDPR Art. 5(1)(a), 12(1); PIPL Art. 7, 17 (fairness and openness)", model=Client,
        expired=lambda now: dormant_clients_to_warn(now=now), apply=_dormant_warn, held=held_via("pk"), batch_size=1),
    RetentionRule(
        code="ip_addresses", title="IP addresses seen for clients", action=Action.DELETE,
        law="GDPR Art. 5(1)(e); PIPL Art. 19",
        text=_text(_("%(period)s after an address was last seen, while your account is open."),
                   "RETENTION_IP_ADDRESS_MONTHS"),
        model=IPObservation, expired=_ip_expired, apply=_delete, held=held_via("client_id")),
    *(RetentionRule(code=code, title=title, action=Action.DELETE, law="GDPR Art. 5(1)(e); PIPL Art. 19",
                    model=model, expired=_login_rows_expired(model), apply=_delete, held=_held_by_login)
      for code, title, model in [("login_records", "Log-in records (django-axes: e-mail, IP address, browser)", AccessLog),
                                 ("login_failures", "Failed log-ins (django-axes)", AccessFailureLog),
                                 ("login_lockouts", "Log-in lock-out counters (django-axes)", AccessAttempt)]),
    RetentionRule(
        code="messages", title="Contents of e-mails and SMS sent", action=Action.ANONYMISE,
        law="GDPR Art. 5(1)(e); PIPL Art. 19",
        text=_text(_("%(period)s after sending, as proof of delivery; then the address, subject and text are deleted "
                     "and only the date, channel, kind and status stay."), "RETENTION_MESSAGE_MONTHS"),
        model=OutboundMessage, expired=_messages_expired, apply=_messages_wipe, held=held_via("client_id")),
    RetentionRule(
        code="request_log", title="Texts of closed requests and their threads", action=Action.ANONYMISE,
        law="11 CCR 7101 (at least 24 months); GDPR Art. 5(1)(e)",
        text=_text(_("At least %(period)s after the request is closed, as the record of how it was answered "
                     "(11 CCR 7101); then what was written in it is deleted and only its dates, type, channel and "
                     "answer stay."), "RETENTION_REQUEST_LOG_MONTHS"),
        model=DataSubjectRequest, expired=_requests_expired, apply=_requests_wipe, held=held_via("client_id")),
    RetentionRule(
        code="released_holds", title="Legal holds after their release", action=Action.DELETE,
        law="GDPR Art. 5(1)(e)",
        text=_text(_("Until the hold is released, then %(period)s; then the record of the hold is deleted."),
                   "RETENTION_RELEASED_HOLD_MONTHS"),
        model=LegalHold, expired=_released_holds_expired, apply=_delete, held=held_via("client_id")),
    RetentionRule(
        code="export_files", title="Export files after their 7-day link", action=Action.DELETE, law="GDPR Art. 5(1)(e)",
        text=_("The file can be downloaded for 7 days and is then deleted; this record stays with the request."),
        model=DataExport, expired=_export_files_expired, apply=_export_files_delete),
    RetentionRule(
        code="email_change_links", title="E-mail change links past their expiry", action=Action.ANONYMISE,
        law="GDPR Art. 5(1)(c),(e)", model=EmailChangeRequest, expired=_email_links_expired, apply=_email_links_close),
    RetentionRule(
        code="pending_signups", title="Sign-ups nobody confirmed (48 hours)", action=Action.DELETE,
        law="GDPR Art. 5(1)(e)", model=PendingSignup,
        expired=lambda now: PendingSignup.objects.filter(expires_at__lte=now), apply=_delete),
    # Evidence: never shortened by the job (docs/retention.md says what the law asks and what stays beyond it).
    RetentionRule(
        code="consent_ledger", title="Consent ledger (events and their personal values)", action=Action.KEEP,
        law="GDPR Art. 7(1); PIPL Art. 14", text=lazy(consent_record_retention, str)()),
    RetentionRule(
        code="sharing_evidence", title="Sharing records, withdrawal notices, disclosures", action=Action.KEEP,
        law="PIPL Art. 56 (at least 3 years); GDPR Art. 5(2)", text=LEDGER_TEXT),
    RetentionRule(
        code="staff_access", title="Staff access log", action=Action.KEEP, law="PIPL Art. 51, 56",
        text=_("As long as your client reference is kept, also after erasure; nobody can change or delete it.")),
    RetentionRule(
        code="rectifications", title="Corrections (digests only)", action=Action.KEEP, law="GDPR Art. 5(2), 16, 19",
        text=_("As long as your client reference is kept, also after erasure: only one-way digests of the values, "
               "never the values.")),
)

_registered: list[RetentionRule] = []


def retention_rule_register(rule: RetentionRule) -> None:
    """For an app above rights, from its AppConfig.ready(): a kind of data it holds, enforced by the same job."""
    if rule.code in {r.code for r in retention_rules()}:
        raise ValueError(f"A retention rule {rule.code!r} is already declared.")
    _registered.append(rule)


def retention_rules() -> tuple[RetentionRule, ...]:
    return (*RULES, *_registered)


def retention_rule(code: str) -> RetentionRule:
    return next(rule for rule in retention_rules() if rule.code == code)


def retention_text(code: str) -> Promise:
    """The sentence a client reads about this kind of data (inventory, export), from the rule itself."""
    text = retention_rule(code).text
    if text is None:
        raise ValueError(f"The retention rule {code!r} has no text for clients.")
    return text
