"""Users who log in, and the clients (data subjects) whose personal data the policy collects."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from .jurisdictions import Jurisdiction


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who logs in: a client in the portal, or a staff member in the admin. The email is the login."""

    # unique=True for Django's own checks; the Lower() constraint below is what makes it case-insensitive.
    email = models.EmailField(_("email address"), max_length=254, unique=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="user_email_ci_unique", violation_error_message=_("This email is already registered.")
            )
        ]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email)
        if (self.is_staff or self.is_superuser) and self.pk and Client.objects.filter(user_id=self.pk).exists():
            raise ValidationError({"is_staff": _("This login belongs to a client; clients are never staff.")})

    def _get_session_auth_hash(self, secret=None):
        """Django's hash of the password, with the e-mail address too: a changed address (the login) ends every
        session made with the old one, as a changed password does (issue #16.5)."""
        key_salt = "accounts.User.get_session_auth_hash"
        return salted_hmac(key_salt, f"{self.password}\x00{self.email.lower()}", secret=secret,
                           algorithm="sha256").hexdigest()


class Language(models.TextChoices):
    EN = "en", "English"
    ZH_HANS = "zh-hans", "简体中文"


class Client(models.Model):
    """A data subject: exactly the personal data the policy says Fulfillmen collects, nothing more.

    External interfaces name a client by `public_id`, never by the database id.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="client", help_text=_("The portal login, if any.")
    )
    full_name = models.CharField(_("full name"), max_length=200)
    email = models.EmailField(_("email address"), max_length=254)
    phone = models.CharField(
        _("phone number"), max_length=20, blank=True, help_text=_("E.164, e.g. +8613800138000.")
    )
    country = CountryField(_("country of residence"), help_text=_("Decides which privacy law applies."))
    region = models.CharField(
        _("state or province"), max_length=6, blank=True,
        help_text=_("ISO 3166-2 code, e.g. US-CA; only where the law depends on it."),
    )
    jurisdiction = models.CharField(_("jurisdiction"), max_length=8, choices=Jurisdiction.choices, editable=False)
    preferred_language = models.CharField(_("preferred language"), max_length=8, choices=Language.choices, default=Language.EN)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True, editable=False,
                                     help_text=_("Personal data anonymised at the client's request; only the UUID remains."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        constraints = [
            models.UniqueConstraint(
                Lower("email"), name="client_email_ci_unique",
                violation_error_message=_("A client with this email already exists."),
            )
        ]
        indexes = [models.Index(fields=["phone"], name="client_phone_idx"),
                   models.Index(Lower("full_name"), name="client_name_lower_idx")]
        permissions = [("export_client_csv", _("Can export selected clients as CSV, giving a reason"))]

    def __str__(self):
        return f"{self.full_name} <{self.email}>"

    def clean(self):
        super().clean()
        if self.user_id and User.objects.filter(pk=self.user_id).filter(
                models.Q(is_staff=True) | models.Q(is_superuser=True)).exists():
            raise ValidationError({"user": _("A staff login can never belong to a client.")})


class Address(models.Model):
    """A residential or office address: the place of shipment the policy collects."""

    class Kind(models.TextChoices):
        RESIDENTIAL = "residential", _("Residential")
        OFFICE = "office", _("Office")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    country = CountryField(_("country"))
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    region = models.CharField(_("state or province"), max_length=100, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["kind", "id"]

    def __str__(self):
        return ", ".join(p for p in [self.line1, self.line2, self.city, self.postcode, str(self.country.name)] if p)


class IPObservation(models.Model):
    """An IP address seen for a client: the policy collects it and may share it, so it is personal data."""

    class Context(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        LOGIN = "login", _("Log-in")
        PORTAL = "portal", _("Portal action")
        CONSENT = "consent", _("Consent change")
        IMPORT = "import", _("Imported")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="ip_observations")
    ip_address = models.GenericIPAddressField(_("IP address"))
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    last_context = models.CharField(_("last seen during"), max_length=10, choices=Context.choices)

    class Meta:
        verbose_name = _("IP address observation")
        verbose_name_plural = _("IP address observations")
        constraints = [models.UniqueConstraint(fields=["client", "ip_address"], name="ip_observation_unique")]
        ordering = ["-last_seen"]

    def __str__(self):
        return self.ip_address


class StaffAccess(models.Model):
    """One staff view, export or change of a client's personal data in the admin: append-only (a trigger refuses
    UPDATE and DELETE). It holds the client reference and the staff identity, never the values seen."""

    class Action(models.TextChoices):
        VIEW_LIST = "view-list", _("Viewed in a list")
        VIEW_DETAIL = "view-detail", _("Viewed the record")
        CHANGE = "change", _("Changed")
        EXPORT = "export", _("Exported")
        DISCLOSURE = "disclosure", _("Viewed in a disclosure")

    staff = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("staff user"))
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="staff_accesses", verbose_name=_("client"))
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    fields = models.JSONField(_("fields"), default=list, blank=True, help_text=_("Names of the fields shown or changed."))
    path = models.CharField(_("admin page"), max_length=300)
    reason = models.TextField(_("reason"), blank=True, help_text=_("The reason given for a bulk export."))

    class Meta:
        verbose_name = _("staff access")
        verbose_name_plural = _("staff access log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["client", "at"], name="staff_access_client_at_idx")]

    def __str__(self):
        return f"{self.get_action_display()} · {self.at:%Y-%m-%d %H:%M}"


class EmailChangeRequest(models.Model):
    """A change of a client's e-mail address (their login), waiting for the new address to confirm it.

    Support agents and the client may start one; only the link sent to the new address, opened with the account's
    password, applies it. The link's token is kept only as a SHA-256 digest. The row stays as the record of who
    asked, when and whether it was confirmed; the new address goes with an erasure.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        EXPIRED = "expired", _("Expired")
        REPLACED = "replaced", _("Replaced by a later request")
        REFUSED = "refused", _("Refused: the address belongs to another account")

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="email_changes", verbose_name=_("client"))
    new_email = models.EmailField(_("new e-mail address"), max_length=254, blank=True)
    token_digest = models.CharField(max_length=64, unique=True, null=True, editable=False)
    started_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("asked by"))
    started_at = models.DateTimeField(_("asked at"), default=timezone.now)
    expires_at = models.DateTimeField(_("link expires"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("e-mail address change")
        verbose_name_plural = _("e-mail address changes")
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["client"], condition=models.Q(status="pending"),
                                               name="email_change_one_pending_per_client")]

    def __str__(self):
        return f"{self.get_state_display()} · {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def state(self) -> str:
        """The status as the client reads it: a pending request past its expiry is expired, swept or not."""
        if self.status == self.Status.PENDING and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.status

    def get_state_display(self) -> str:
        return str(self.Status(self.state).label)


class PendingSignup(models.Model):
    """A sign-up waiting for its e-mail address to confirm it (issue #16.9): until the link is used, no login and no
    client exist, so an address nobody confirmed never gets an account and sign-up never says whether one exists.

    Holds the sign-up form as validated and the password already hashed, never the clear password; the link's token
    only as a SHA-256 digest, so a copy of the table opens nothing. Deleted when used, when the address gets an
    account some other way, and once expired (accounts.tasks.sweep_pending_signups).
    """

    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=200)
    phone = models.CharField(max_length=20, blank=True)
    country = CountryField()
    preferred_language = models.CharField(max_length=8, choices=Language.choices)
    password_hash = models.CharField(max_length=128)
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    # A client younger than their rule's age (accounts/minors.py): once their own link is used, the link goes to the
    # parent or guardian named here (a new token_digest) and the account waits for that consent.
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    minimum_age = models.PositiveSmallIntegerField(null=True, blank=True)
    guardian_name = models.CharField(max_length=200, blank=True)
    guardian_email = models.EmailField(max_length=254, blank=True)

    class Meta:
        indexes = [models.Index(Lower("email"), name="pending_signup_email_idx")]

    def __str__(self):
        return f"sign-up waiting for confirmation until {self.expires_at:%Y-%m-%d %H:%M}"


class SignupAgeRule(models.Model):
    """Data, not code: below which age a client needs a parent's or guardian's consent to sign up.

    PIPL Art. 28 and 31: personal information of a minor under 14 is sensitive and needs a guardian's consent;
    GDPR Art. 8: 16, or 13 to 15 where a member state says so; COPPA: 13 in the United States. A rule names a country
    or a jurisdiction (accounts/jurisdictions.py); the country's rule wins. Where no rule applies, sign-up asks no age.
    """

    jurisdiction = models.CharField(_("jurisdiction"), max_length=8, choices=Jurisdiction.choices, blank=True,
                                    help_text=_("Every country of this jurisdiction, unless a country has its own rule."))
    country = CountryField(_("country"), blank=True, help_text=_("Only this country (beats its jurisdiction's rule)."))
    minimum_age = models.PositiveSmallIntegerField(
        _("minimum age"), validators=[MinValueValidator(1), MaxValueValidator(21)],
        help_text=_("Younger clients sign up only with the consent of a parent or guardian."))
    note = models.CharField(_("legal source"), max_length=200, blank=True, help_text=_("e.g. PIPL Art. 31"))

    class Meta:
        verbose_name = _("sign-up age rule")
        verbose_name_plural = _("sign-up age rules")
        ordering = ["jurisdiction", "country"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(jurisdiction="") & ~models.Q(country=""))
                | (~models.Q(jurisdiction="") & models.Q(country="")),
                name="signup_age_rule_country_or_jurisdiction",
                violation_error_message=_("Name either a country or a jurisdiction, not both.")),
            models.UniqueConstraint(fields=["jurisdiction"], condition=models.Q(country=""),
                                    name="signup_age_rule_one_per_jurisdiction",
                                    violation_error_message=_("This jurisdiction has a rule already.")),
            models.UniqueConstraint(fields=["country"], condition=~models.Q(country=""),
                                    name="signup_age_rule_one_per_country",
                                    violation_error_message=_("This country has a rule already.")),
        ]

    def __str__(self):
        where = self.country.name if self.country else self.get_jurisdiction_display()
        return f"{where}: {self.minimum_age}"

    @property
    def where(self) -> str:
        return str(self.country.name) if self.country else str(self.get_jurisdiction_display())
