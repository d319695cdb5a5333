"""The technical and organisational security measures the record of processing names (GDPR Art. 30(1)(g), 32; PIPL
Art. 51). Only what the code does; where a measure depends on the configuration, `in_force` reads it, so the record
says when this installation runs without it (the SQLite quick start, plain HTTP in development)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Measure:
    code: str
    title: Promise
    description: Promise
    in_force: Callable[[], bool] | None = None  # None: always, whatever the configuration


def _https_only() -> bool:
    https = settings.SECURE_SSL_REDIRECT or getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    return bool(https and settings.SECURE_HSTS_SECONDS > 0 and settings.SESSION_COOKIE_SECURE)


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


MEASURES: tuple[Measure, ...] = (
    Measure("encryption-in-transit", _("Encryption in transit"), _(
        "HTTPS only: plain HTTP is redirected, browsers are told to use HTTPS for a year (HSTS) and cookies are sent "
        "over HTTPS only."), _https_only),
    Measure("staff-second-factor", _("Second factor for staff"), _(
        "The admin asks every member of staff for a one-time code from an authenticator app (TOTP) besides the "
        "password.")),
    Measure("role-based-access", _("Access by role"), _(
        "Privacy officers, Legal and support agents each see only what their duties need; every page is checked "
        "against every role by a test. Disclosures under a non-disclosure order are Legal's alone.")),
    Measure("passwords-and-lockout", _("Passwords and log-in lock-out"), _(
        "Passwords are stored only as salted one-way hashes and must be at least 10 characters and not common; "
        "repeated failed log-ins lock that log-in out from that address for a time.")),
    Measure("hashed-api-keys", _("Hashed API keys"), _(
        "Recipients' API keys are shown once and stored only as a hash; they can expire and be revoked, and key "
        "guessing from one address is throttled.")),
    Measure("sharing-records", _("A record of every disclosure"), _(
        "Every datum that leaves Fulfillmen through the recipients' API or a disclosure to an authority is recorded, "
        "per client, in the same transaction; clients see these records (a withheld disclosure once its "
        "non-disclosure period ends).")),
    Measure("append-only-ledger", _("Append-only consent ledger"), _(
        "Every consent change is a hash-chained event; the database refuses to change, delete or empty the ledger, "
        "the staff access log and approved impact assessments."), _postgresql),
    Measure("public-consent-log", _("Public Merkle log of consent"), _(
        "Every consent event is a leaf of a public Merkle tree (RFC 6962) with signed checkpoints, so anyone can check "
        "that no recorded consent was changed or removed.")),
    Measure("staff-access-log", _("Staff access log"), _(
        "Staff views, changes and exports of client data in the admin are recorded in an append-only access log "
        "that privacy officers read; clients see the monthly counts.")),
    Measure("no-personal-data-in-logs", _("No personal data in logs"), _(
        "E-mail addresses, phone numbers and IP addresses are masked in every log line, tracebacks included.")),
    Measure("no-caching-of-personal-pages", _("Personal pages not cached"), _(
        "Responses to a logged-in user or an API key are marked not to be stored by browsers or proxies; strict "
        "security headers (content security policy, no framing) on every page.")),
    Measure("session-expiry", _("Sessions end"), _("A log-in session ends after eight hours at the most."),
            lambda: settings.SESSION_COOKIE_AGE <= 8 * 60 * 60),
)


def security_measures() -> list[tuple[Measure, bool]]:
    """Each measure and whether it is in force in this installation's configuration."""
    return [(m, True if m.in_force is None else bool(m.in_force())) for m in MEASURES]
