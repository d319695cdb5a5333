"""A client's answer to a material policy change: accept or object, recorded in the consent ledger.

REQUIREMENTS §4 (PIPL 17; WP260): material changes are announced well in advance so that clients can object
before they take effect. The answer is a consent event on the `policy-acceptance` purpose whose `policy_version`
is the *pending* version answered (grant = accept, withdraw = object). Consent calls down into amendments for the
versions and the reminder deliveries; amendments never learns about answers.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Client
from accounts.page_fragments import rows_digest_sql
from amendments.models import NoticeDelivery, PolicyVersion
from amendments.notices import notices_create_for

from .models import Channel, ConsentAction, ConsentEvent, Purpose
from .services import consent_record

POLICY_ACCEPTANCE = "policy-acceptance"
REMINDER_BEFORE = 7  # days before the effective date


def _answers(**filters) -> QuerySet:
    return ConsentEvent.objects.filter(purpose__code=POLICY_ACCEPTANCE, **filters)


def material_versions_pending(*, at: datetime | None = None) -> QuerySet:
    """Published material versions not in force yet, the soonest first."""
    return (PolicyVersion.objects.filter(published_at__isnull=False, is_material=True, effective_at__gt=at or timezone.now())
            .order_by("effective_at", "id"))


def policy_versions_version_sql(*, at: datetime) -> list:
    """For a kept page showing the pending policy answer (accounts/page_fragments.py): every policy version (a few
    a year; every column) and which are pending at `at` — the client's answers are ledger events, which
    `consent.selectors.choices_version_sql` covers."""
    table = PolicyVersion._meta.db_table
    return [rows_digest_sql(table),
            (f"(SELECT string_agg(v.id::text, ',' ORDER BY v.id) FROM {table} v WHERE v.published_at IS NOT NULL "  # nosec B608
             "AND v.is_material AND v.effective_at > %s)", [at])]


def pending_material_version(*, client: Client, at: datetime | None = None) -> PolicyVersion | None:
    """The soonest published material version, not in force yet, that `client` has not answered (one query)."""
    answered = _answers(client=client, policy_version=OuterRef("pk"))
    return material_versions_pending(at=at).exclude(Exists(answered)).first()


def policy_answer_of(*, client: Client, version: PolicyVersion) -> ConsentEvent | None:
    """The client's latest answer to `version`, if any."""
    return _answers(client=client, policy_version=version).order_by("-sequence").first()


@transaction.atomic
def policy_answer_record(*, client: Client, version: PolicyVersion, accept: bool, ip_address: str | None,
                         user_agent: str) -> tuple[ConsentEvent, bool]:
    """Record the client's acceptance of, or objection to, a pending material version. Returns (event, created).

    Only a published material version that is not in force yet can be answered: once it is in force, objecting
    is done by withdrawing consent or closing the account, not by this answer.
    """
    if not version.is_material:
        raise ValidationError(_("Version %(label)s is not a material change; there is nothing to accept or object to.")
                              % {"label": version.label})
    if not version.is_published:
        raise ValidationError(_("Version %(label)s has not been published.") % {"label": version.label})
    if version.effective_at <= timezone.now():
        raise ValidationError(_("Version %(label)s is already in effect; it can no longer be accepted or objected to.")
                              % {"label": version.label})
    return consent_record(
        client=client, purpose=Purpose.objects.get(code=POLICY_ACCEPTANCE),
        action=ConsentAction.GRANT if accept else ConsentAction.WITHDRAW, channel=Channel.PORTAL,
        ip_address=ip_address, user_agent=user_agent or "", policy_version=version,
    )


def policy_objections(*, version: PolicyVersion) -> QuerySet:
    """Clients whose latest answer to `version` is an objection, for the privacy officer to act on."""
    later = _answers(client=OuterRef("client"), policy_version=version, sequence__gt=OuterRef("sequence"))
    return (_answers(policy_version=version, action=ConsentAction.WITHDRAW).exclude(Exists(later))
            .select_related("client", "policy_version").order_by("occurred_at", "id"))


def clients_without_answer(*, version: PolicyVersion) -> QuerySet:
    return Client.objects.filter(erased_at__isnull=True).exclude(
        Exists(_answers(client=OuterRef("pk"), policy_version=version)))


def policy_reminders_create(*, version: PolicyVersion, at: datetime | None = None) -> int:
    """Reminder deliveries (email and SMS) for the clients who have not answered `version`; safe to run twice."""
    client_ids = list(clients_without_answer(version=version).values_list("pk", flat=True))
    return notices_create_for(version=version, kind=NoticeDelivery.Kind.REMINDER, client_ids=client_ids, at=at)


def versions_due_reminder(*, at: datetime | None = None) -> QuerySet:
    """Pending material versions that take effect within REMINDER_BEFORE days."""
    at = at or timezone.now()
    return material_versions_pending(at=at).filter(effective_at__lte=at + timedelta(days=REMINDER_BEFORE))
