"""Writes to clients, their addresses, IP observations and logins. Views, admin and commands call these."""

from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .jurisdictions import jurisdiction_for
from .models import Address, Client, IPObservation, Language, User
from .phones import phone_to_e164


def _email_taken(email: str, *, exclude_client: Client | None = None) -> bool:
    clients = Client.objects.filter(email__iexact=email)
    if exclude_client is not None:
        clients = clients.exclude(pk=exclude_client.pk)
    users = User.objects.filter(email__iexact=email)
    if exclude_client is not None and exclude_client.user_id:
        users = users.exclude(pk=exclude_client.user_id)
    return clients.exists() or users.exists()


def _validated_client_fields(*, full_name, email, phone, country, region, preferred_language) -> dict:
    errors = {}
    full_name = (full_name or "").strip()
    if not full_name:
        errors["full_name"] = _("Please give your full name.")
    email = User.objects.normalize_email((email or "").strip())
    try:
        User._meta.get_field("email").run_validators(email)
        if not email:
            raise ValidationError(_("An email address is required."))
    except ValidationError as exc:
        errors["email"] = exc.messages
    country = (country or "").upper()
    if not country:
        errors["country"] = _("Please choose your country of residence.")
    try:
        phone = phone_to_e164(phone, default_region=country)
    except ValidationError as exc:
        errors["phone"] = exc.messages
    if preferred_language not in Language.values:
        errors["preferred_language"] = _("Choose English or Simplified Chinese.")
    if errors:
        raise ValidationError(errors)
    return {
        "full_name": full_name,
        "email": email,
        "phone": phone,
        "country": country,
        "region": (region or "").upper(),
        "jurisdiction": jurisdiction_for(country=country, region=region),
        "preferred_language": preferred_language,
    }


@transaction.atomic
def client_create(
    *,
    full_name: str,
    email: str,
    country: str,
    phone: str = "",
    region: str = "",
    preferred_language: str = Language.EN,
    user: User | None = None,
) -> Client:
    """A client record without a login (staff entry, imports), or with the login sign-up has just made for it.
    Validates exactly like sign-up. A staff login never belongs to a client (nor a client's login to staff)."""
    if user is not None and _is_staff_login(user):
        raise ValidationError({"user": _("A staff login can never belong to a client.")})
    fields = _validated_client_fields(
        full_name=full_name, email=email, phone=phone, country=country, region=region, preferred_language=preferred_language
    )
    if _email_taken(fields["email"]) and not (user and user.email.lower() == fields["email"].lower()):
        raise ValidationError({"email": _("A client with this email already exists.")})
    try:
        with transaction.atomic():
            return Client.objects.create(user=user, **fields)
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise ValidationError({"email": _("A client with this email already exists.")}) from exc


@transaction.atomic
def client_register(
    *,
    email: str,
    password: str = "",
    full_name: str,
    country: str,
    phone: str = "",
    region: str = "",
    preferred_language: str = Language.EN,
    ip_address: str | None = None,
    password_hash: str = "",
) -> Client:
    """Portal sign-up: a login and the client it belongs to, in one transaction. Clients are never staff.
    `password_hash`: the password as sign-up hashed it after validating it (accounts/signup.py), instead of `password`."""
    email = User.objects.normalize_email((email or "").strip())
    if _email_taken(email):
        raise ValidationError({"email": _("This email is already registered.")})
    user = User(email=email)
    if password_hash:
        user.password = password_hash
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError({"email": _("This email is already registered.")}) from exc
    client = client_create(
        full_name=full_name,
        email=email,
        country=country,
        phone=phone,
        region=region,
        preferred_language=preferred_language,
        user=user,
    )
    if ip_address:
        ip_observation_record(client=client, ip_address=ip_address, context=IPObservation.Context.SIGNUP)
    return client


@transaction.atomic
def address_add(
    *, client: Client, kind: str, country: str, line1: str, city: str, line2: str = "", region: str = "", postcode: str = ""
) -> Address:
    address = Address(
        client=client, kind=kind, country=(country or "").upper(), line1=line1, line2=line2, city=city, region=region,
        postcode=postcode,
    )
    address.full_clean()
    address.save()
    return address


def ip_observation_record(*, client: Client, ip_address: str, context: str, at: datetime | None = None) -> None:
    """Remember that `ip_address` was seen for `client`: first sighting inserts, later ones move last_seen.

    One statement (INSERT … ON CONFLICT DO UPDATE), so concurrent requests never collide.
    """
    at = at or timezone.now()
    IPObservation.objects.bulk_create(
        [IPObservation(client=client, ip_address=ip_address, first_seen=at, last_seen=at, last_context=context)],
        update_conflicts=True,
        unique_fields=["client", "ip_address"],
        update_fields=["last_seen", "last_context"],
    )


def staff_user_ensure(*, email: str, password: str, groups: list[str], superuser: bool = False) -> User:
    """A staff login in the given groups, created or brought up to date (demo data, first set-up)."""
    from django.contrib.auth.models import Group

    user = User.objects.filter(email__iexact=email).first() or User(email=User.objects.normalize_email(email))
    if user.pk and Client.objects.filter(user=user).exists():
        raise ValidationError(_("%(email)s is a client; clients are never staff.") % {"email": email})
    user.is_staff = True
    user.is_superuser = superuser
    user.set_password(password)
    user.save()
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


def _is_staff_login(user: User) -> bool:
    """Read from the database: an unsaved or stale object must not hide a staff flag."""
    if user.is_staff or user.is_superuser:
        return True
    return bool(user.pk) and User.objects.filter(pk=user.pk).filter(Q(is_staff=True) | Q(is_superuser=True)).exists()


# What staff and the client may change directly. The e-mail address is the login: it changes only when the new
# address confirms it (accounts/email_change.py); the linked login never changes after sign-up (issue #16.5).
CLIENT_UPDATABLE_FIELDS = ("full_name", "phone", "country", "region", "preferred_language")


@transaction.atomic
def client_update(*, client: Client, **changes) -> Client:
    """Change a client's own fields with the sign-up validation; the jurisdiction follows the country.

    Not the e-mail address nor the linked login: a support agent who could set either could reset the password to
    an address they read and log in as the client."""
    unknown = set(changes) - set(CLIENT_UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"client_update cannot change {sorted(unknown)}")
    return _client_fields_save(client=client, changes=changes)


def _client_fields_save(*, client: Client, changes: dict) -> Client:
    """Validate `changes` over the client's current values as sign-up does, then save the client and keep the
    login's e-mail address equal to the client's (call inside a transaction)."""
    current = {f: getattr(client, f) for f in ("full_name", "email", "phone", "country", "region", "preferred_language")}
    current["country"] = str(current["country"])
    fields = _validated_client_fields(**{**current, **changes})
    if fields["email"].lower() != client.email.lower() and _email_taken(fields["email"], exclude_client=client):
        raise ValidationError({"email": _("A client with this email already exists.")})
    for name, value in fields.items():
        setattr(client, name, value)
    try:
        with transaction.atomic():
            client.save()
            if client.user_id and client.user.email.lower() != client.email.lower():
                User.objects.filter(pk=client.user_id).update(email=client.email)
    except IntegrityError as exc:
        raise ValidationError({"email": _("A client with this email already exists.")}) from exc
    return client


@transaction.atomic
def signup_age_rule_save(*, rule):
    """A privacy officer's change of an age rule: it applies to sign-ups from now on, never to existing accounts."""
    rule.full_clean()
    rule.save()
    return rule
