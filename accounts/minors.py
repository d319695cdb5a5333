"""Minors at sign-up (issue #18.12; PIPL Art. 28 and 31, GDPR Art. 8, COPPA).

Where a SignupAgeRule applies to the client's country, the sign-up link asks "are you N or older?" before it creates
the account. Of age: the account is created and the answer recorded. Younger: nothing is created yet; the link sent
to the parent or guardian the client names (through the notify outbox) shows who asked, and the account is created
only when the guardian consents there. Refusing, or letting the link expire, deletes the sign-up with what it held.

Either answer is evidence in the consent ledger, which sits above accounts: `client_signed_up` is sent in the
transaction that creates the client, and consent (consent/signals.py) records the ConsentEvent — as it records the
sign-up defaults on the client's post_save.
"""

import hashlib
import secrets
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notify.models import OutboundMessage
from notify.services import message_queue

from .jurisdictions import jurisdiction_for
from .models import Client, PendingSignup, SignupAgeRule, User
from .services import client_register

GUARDIAN_LINK_VALID_FOR = timedelta(days=7)

# Sent in the transaction that creates a client through sign-up, with `client` and `age_check` (AgeCheck or None
# where no rule asked). The consent app records the answer in the ledger; a failure there undoes the sign-up.
client_signed_up = Signal()


def token_digest(token: str) -> str:
    """How a link's token is kept: its SHA-256 only, so a copy of the table opens nothing."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class AgeCheck:
    minimum_age: int
    rule: str  # where the rule applies, e.g. "China (PIPL)", and its legal source
    guardian_name: str = ""  # empty: the client confirmed being of age themselves
    guardian_email: str = ""
    ip_address: str | None = None  # of whoever answered
    user_agent: str = ""

    @property
    def by_guardian(self) -> bool:
        return bool(self.guardian_email)


_signing_up: ContextVar["AgeCheck | None"] = ContextVar("signing_up", default=None)


def signup_age_check() -> "AgeCheck | None":
    """The age check of the sign-up whose client is being created right now, if any: the consent defaults recorded
    on the client's post_save read it, so that a minor's account starts with every consent purpose off (only the
    guardian's or, later, the client's affirmative act turns one on; CCPA 1798.120(c), COPPA, PIPL Art. 31)."""
    return _signing_up.get()


@contextmanager
def _creating(age_check: "AgeCheck | None"):
    token = _signing_up.set(age_check)
    try:
        yield
    finally:
        _signing_up.reset(token)


def signup_age_rule_for(*, country: str) -> SignupAgeRule | None:
    """The rule for a client living in `country`: the country's own, else its jurisdiction's, else none."""
    country = (country or "").upper()
    rules = {(r.country.code if r.country else "", r.jurisdiction): r for r in SignupAgeRule.objects.filter(
        country__in=[country, ""])}
    return rules.get((country, "")) or rules.get(("", jurisdiction_for(country=country)))


def _rule_text(rule: SignupAgeRule) -> str:
    return f"{rule.where} ({rule.note})" if rule.note else rule.where


def age_check_of_age(*, rule: SignupAgeRule, ip_address: str | None, user_agent: str = "") -> AgeCheck:
    return AgeCheck(minimum_age=rule.minimum_age, rule=_rule_text(rule), ip_address=ip_address, user_agent=user_agent)


def signup_create(*, pending: PendingSignup, age_check: AgeCheck | None, client_ip: str | None) -> Client | None:
    """The login and the client of a pending sign-up (call inside its transaction), and `client_signed_up`.
    None if the address got an account meanwhile. Every waiting sign-up for the address goes with it."""
    try:
        with _creating(age_check):
            client = client_register(email=pending.email, password_hash=pending.password_hash,
                                     full_name=pending.full_name, country=str(pending.country), phone=pending.phone,
                                     preferred_language=pending.preferred_language, ip_address=client_ip)
    except ValidationError:
        client = None
    else:
        client_signed_up.send(sender=Client, client=client, age_check=age_check)
    PendingSignup.objects.filter(email__iexact=pending.email).delete()
    return client


def _guardian_fields(*, pending: PendingSignup, guardian_name: str, guardian_email: str) -> tuple[str, str]:
    errors = {}
    name = (guardian_name or "").strip()
    if not name:
        errors["guardian_name"] = _("Please give the name of your parent or guardian.")
    email = User.objects.normalize_email((guardian_email or "").strip())
    try:
        validate_email(email)
    except ValidationError:
        errors["guardian_email"] = _("Enter the e-mail address of your parent or guardian.")
    else:
        if email.lower() == pending.email.lower():
            errors["guardian_email"] = _("This is your own address: your parent or guardian must consent from theirs.")
    if errors:
        raise ValidationError(errors)
    return name, email


@transaction.atomic
def signup_guardian_request(*, token: str, password: str, guardian_name: str, guardian_email: str) -> PendingSignup:
    """The client's own link, opened with their password, says they are younger than their rule's age: no account
    yet; the link now goes to the guardian (a new token, so the client's link is spent) for GUARDIAN_LINK_VALID_FOR."""
    pending = (PendingSignup.objects.select_for_update()
               .filter(token_digest=token_digest(token), email_confirmed_at__isnull=True, expires_at__gt=timezone.now())
               .first())
    if pending is None:
        raise LookupError("no such sign-up")
    if not check_password(password, pending.password_hash):
        raise ValidationError({"password": _("This is not the password you chose when you signed up.")})
    rule = signup_age_rule_for(country=str(pending.country))
    if rule is None:
        raise ValidationError({"age": _("Where you live, you can create your account yourself.")})
    name, email = _guardian_fields(pending=pending, guardian_name=guardian_name, guardian_email=guardian_email)
    guardian_token = secrets.token_urlsafe(32)
    now = timezone.now()
    PendingSignup.objects.filter(pk=pending.pk).update(
        token_digest=token_digest(guardian_token), email_confirmed_at=now, expires_at=now + GUARDIAN_LINK_VALID_FOR,
        minimum_age=rule.minimum_age, guardian_name=name, guardian_email=email)
    pending.refresh_from_db()
    _guardian_email(pending=pending, token=guardian_token)
    return pending


def _guardian_email(*, pending: PendingSignup, token: str) -> None:
    with translation.override(pending.preferred_language):
        link = settings.SITE_URL + reverse("signup_guardian", args=[token])
        body = _(
            "Hello %(guardian)s,\n\n%(child)s (%(email)s) wants to create an account in the Fulfillmen Privacy Portal and "
            "told us they are younger than %(age)s. The law where they live says that a parent or guardian must consent "
            "first. If you are their parent or guardian, open this link to read what we would process and to consent "
            "or refuse:\n\n%(link)s\n\nThe link works once, for %(days)s days. Until you consent there is no account; "
            "if you refuse, or do nothing, we delete what they entered.\n\nFulfillmen Privacy\nprivacy@fulfillmen.com"
        ) % {"guardian": pending.guardian_name, "child": pending.full_name, "email": pending.email,
             "age": pending.minimum_age, "link": link, "days": GUARDIAN_LINK_VALID_FOR.days}
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="signup-guardian", to=pending.guardian_email,
                      subject=_("%(child)s asks for your consent to create an account") % {"child": pending.full_name},
                      body=body, idempotency_key=f"signup-guardian:{pending.token_digest}", wipe_recipient_after_send=True)


def pending_signup_for_guardian(*, token: str) -> PendingSignup | None:
    return PendingSignup.objects.filter(token_digest=token_digest(token), email_confirmed_at__isnull=False,
                                        expires_at__gt=timezone.now()).first()


def signup_guardian_answer(*, token: str, consent: bool, ip_address: str | None, user_agent: str = "") -> Client | None:
    """The guardian's answer. Consent: the account, with the consent recorded in the ledger (naming the guardian),
    and the client told by e-mail. Refusal: the sign-up is deleted, and the client told. LookupError for a link that
    cannot be used (unknown, used, expired); None if the address got an account meanwhile."""
    with transaction.atomic():
        pending = (PendingSignup.objects.select_for_update()
                   .filter(token_digest=token_digest(token), email_confirmed_at__isnull=False, expires_at__gt=timezone.now())
                   .first())
        if pending is None:
            raise LookupError("no such sign-up")
        client = None
        if consent:
            rule = signup_age_rule_for(country=str(pending.country))
            check = AgeCheck(minimum_age=pending.minimum_age, rule=_rule_text(rule) if rule else "",
                             guardian_name=pending.guardian_name, guardian_email=pending.guardian_email,
                             ip_address=ip_address, user_agent=user_agent)
            client = signup_create(pending=pending, age_check=check, client_ip=None)  # the guardian's IP is not the client's
            if client is None:
                return None
        else:
            PendingSignup.objects.filter(pk=pending.pk).delete()
        _answer_email(pending=pending, client=client)
    return client


def _answer_email(*, pending: PendingSignup, client: Client | None) -> None:
    consent = client is not None
    with translation.override(pending.preferred_language):
        if consent:
            subject = _("Your account is ready")
            text = _("Your parent or guardian consented: your Fulfillmen Privacy Portal account is ready. Log in with "
                     "your e-mail address and the password you chose: %(url)s") % {
                "url": settings.SITE_URL + reverse("login")}
        else:
            subject = _("Your sign-up was not completed")
            text = _("Your parent or guardian did not consent, so no account was created and we deleted what you "
                     "entered.")
        body = _("Hello %(name)s,\n\n%(text)s\n\nFulfillmen Privacy\nprivacy@fulfillmen.com") % {
            "name": pending.full_name, "text": text}
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="signup-guardian-answer", to=pending.email,
                      client=client, subject=subject, body=body,
                      idempotency_key=f"signup-guardian-answer:{pending.token_digest}", wipe_recipient_after_send=not consent)
