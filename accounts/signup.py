"""Confirm-first sign-up (issue #16.9): the sign-up form never tells whether an address already has an account.

Every valid form ends on the same "check your e-mail" page after the same work (the password is hashed either way,
one e-mail is queued either way). For a new address, the validated form waits in a PendingSignup and the address is
sent a one-time link, valid for 48 hours; the login and the client are created only when that link is opened with the
password chosen at sign-up. So nobody gets an account for an address they do not read — and whoever reads it cannot
complete a sign-up someone else started with it (a "pre-hijacked" account whose password the other person knows).
For an address that has an account, its owner is told, in their language, that someone tried; nothing changes.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template import loader
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notify.models import OutboundMessage
from notify.services import message_queue

from .minors import age_check_of_age, signup_age_rule_for, signup_create, token_digest
from .models import Client, PendingSignup, User
from .services import _email_taken, _validated_client_fields

SIGNUP_LINK_VALID_FOR = timedelta(hours=48)


class SignupLinkError(Exception):
    """The link is unknown, altered, used already or expired: signing up again sends a new one."""


_digest = token_digest


def signup_validate(*, full_name: str, email: str, phone: str, country: str, preferred_language: str,
                    password: str) -> dict:
    """The checks sign-up always made — the client's fields as client_create checks them, the password as
    client_register does — and none that depends on whether the address has an account. Returns the clean fields."""
    errors, fields = {}, {}
    try:
        fields = _validated_client_fields(full_name=full_name, email=email, phone=phone, country=country, region="",
                                          preferred_language=preferred_language)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        validate_password(password, User(email=User.objects.normalize_email((email or "").strip())))
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return fields


def _email(*, template: str, context: dict) -> str:
    return loader.render_to_string(template, {**context, "site_url": settings.SITE_URL})


def _confirmation_email(*, pending: PendingSignup, token: str) -> None:
    """The link is a credential and the address is nobody's yet: the body and the address go once it is sent."""
    with translation.override(pending.preferred_language):
        link = settings.SITE_URL + reverse("signup_confirm", args=[token])
        body = _email(template="registration/signup_confirm_email.txt",
                      context={"name": pending.full_name, "link": link,
                               "hours": int(SIGNUP_LINK_VALID_FOR.total_seconds() // 3600)})
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="signup-confirm", to=pending.email,
                      subject=_("Confirm your e-mail address to finish creating your account"), body=body,
                      idempotency_key=f"signup-confirm:{pending.token_digest}", wipe_recipient_after_send=True)


def _attempt_email(*, email: str) -> None:
    """To the owner of a taken address, in their language. One an hour at most: a stranger repeating the attempt
    must not flood the owner's inbox (the page the stranger sees is the same whether or not a mail went out)."""
    client = Client.objects.filter(email__iexact=email).select_related("user").first()
    user = client.user if client and client.user_id else User.objects.filter(email__iexact=email).first()
    owner = f"client-{client.pk}" if client else f"user-{user.pk}"
    with translation.override(client.preferred_language if client else settings.LANGUAGE_CODE):
        body = _email(template="registration/signup_attempt_email.txt",
                      context={"name": client.full_name if client else "", "has_login": user is not None,
                               "login_url": settings.SITE_URL + reverse("login"),
                               "reset_url": settings.SITE_URL + reverse("password_reset")})
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="signup-attempt", to=(client or user).email,
                      client=client, subject=_("Someone tried to sign up with your e-mail address"), body=body,
                      idempotency_key=f"signup-attempt:{owner}:{timezone.now():%Y%m%d%H}")


@transaction.atomic
def signup_request(*, full_name: str, email: str, phone: str, country: str, preferred_language: str,
                   password: str) -> None:
    """A valid sign-up form: a confirmation link to a new address, a "someone tried" notice to a taken one.

    Returns nothing, so that no caller can answer differently for the two."""
    fields = signup_validate(full_name=full_name, email=email, phone=phone, country=country,
                             preferred_language=preferred_language, password=password)
    password_hash = make_password(password)  # for a taken address too: the time taken must not tell them apart
    if _email_taken(fields["email"]):
        _attempt_email(email=fields["email"])
        return
    token = secrets.token_urlsafe(32)
    pending = PendingSignup.objects.create(
        email=fields["email"], full_name=fields["full_name"], phone=fields["phone"], country=fields["country"],
        preferred_language=fields["preferred_language"], password_hash=password_hash, token_digest=_digest(token),
        expires_at=timezone.now() + SIGNUP_LINK_VALID_FOR)
    _confirmation_email(pending=pending, token=token)


def pending_signup_for_link(*, token: str) -> PendingSignup:
    """The sign-up a link completes, or SignupLinkError (unknown, altered, used, expired, or with the guardian)."""
    pending = PendingSignup.objects.filter(token_digest=_digest(token), email_confirmed_at__isnull=True,
                                           expires_at__gt=timezone.now()).first()
    if pending is None:
        raise SignupLinkError()
    return pending


def signup_confirm(*, token: str, password: str, ip_address: str | None, of_age: bool = False,
                   user_agent: str = "") -> Client:
    """The link opened with the password chosen at sign-up: the login and the client, through client_register (with
    its consent defaults and the IP observation), once. Every waiting sign-up for the address goes with it.
    Where an age rule applies (accounts/minors.py) only with `of_age`, the client's answer that they are that old,
    which the ledger records; a younger client goes through signup_guardian_request instead.

    A wrong password is a ValidationError and leaves the link usable; a link that cannot be used is SignupLinkError,
    also when the address got an account after the sign-up (another of its links, staff) — the link is spent then."""
    with transaction.atomic():
        pending = (PendingSignup.objects.select_for_update()
                   .filter(token_digest=_digest(token), email_confirmed_at__isnull=True, expires_at__gt=timezone.now())
                   .first())
        if pending is None:
            raise SignupLinkError()
        if not check_password(password, pending.password_hash):
            raise ValidationError({"password": _("This is not the password you chose when you signed up.")})
        rule = signup_age_rule_for(country=str(pending.country))
        if rule is not None and not of_age:
            raise ValidationError({"age": _("Please say whether you are %(age)s or older.") % {"age": rule.minimum_age}})
        age_check = age_check_of_age(rule=rule, ip_address=ip_address, user_agent=user_agent) if rule else None
        client = signup_create(pending=pending, age_check=age_check, client_ip=ip_address)
    if client is None:
        raise SignupLinkError()
    return client


def pending_signups_sweep(*, now=None) -> int:
    """Sign-ups nobody confirmed in time: deleted, with the name, phone and password hash they held."""
    return PendingSignup.objects.filter(expires_at__lte=now or timezone.now()).delete()[0]
