"""Disclosures to law enforcement, courts, regulators and claimants: recorded, reviewed by a second person, audited."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Disclosure(models.Model):
    class AuthorityKind(models.TextChoices):
        POLICE = "police", _("Police")
        COURT = "court", _("Court")
        REGULATOR = "regulator", _("Regulator")
        TAX_CUSTOMS = "tax-customs", _("Tax or customs")
        OTHER_GOVERNMENT = "other-government", _("Other government body")
        PRIVATE_CLAIMANT = "private-claimant", _("Private claimant")

    class RequestType(models.TextChoices):
        COURT_ORDER = "court-order", _("Court order")
        SUBPOENA = "subpoena", _("Subpoena or other legal process")
        WARRANT = "warrant", _("Warrant")
        REGULATORY = "regulatory", _("Regulatory request")
        EMERGENCY = "emergency", _("Emergency")
        ILLEGAL_ACTIVITY = "illegal-activity", _("Illegal or offensive activity")
        CLAIMS = "claims", _("Prevention of claims")

    class LegalBasis(models.TextChoices):
        """Why the law lets us hand the data over; the sharing records and the client's notice name the same."""

        LEGAL_OBLIGATION = "legal-obligation", _("Legal obligation (GDPR Art. 6(1)(c); PIPL Art. 13(3))")
        LEGAL_CLAIMS = "legal-claims", _(
            "Legitimate interest: establishing, exercising or defending legal claims (GDPR Art. 6(1)(f), 9(2)(f))")
        VITAL_INTERESTS = "vital-interests", _(
            "Vital interests: protecting someone's life or safety in an emergency (GDPR Art. 6(1)(d); PIPL Art. 13(4))")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        UNDER_REVIEW = "under-review", _("Under review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        DISCLOSED = "disclosed", _("Disclosed")
        PARTIALLY_DISCLOSED = "partially-disclosed", _("Partially disclosed")

    authority_name = models.CharField(max_length=200)
    authority_address = models.TextField(blank=True)
    authority_country = models.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2"))
    authority_kind = models.CharField(max_length=20, choices=AuthorityKind.choices)
    request_type = models.CharField(max_length=20, choices=RequestType.choices)
    legal_basis = models.CharField(max_length=20, choices=LegalBasis.choices, default=LegalBasis.LEGAL_OBLIGATION,
                                   help_text=_("Left empty on the form, it follows from the request type: prevention of "
                                               "claims = legal claims, emergency = vital interests, any other = legal "
                                               "obligation."))
    legal_instrument = models.CharField(max_length=200, blank=True)
    reference_number = models.CharField(max_length=100)
    received_on = models.DateField()
    response_deadline = models.DateField(null=True, blank=True)
    categories_requested = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    decision_reason = models.TextField(blank=True)
    prc_approval_obtained = models.BooleanField(default=False)
    prc_approval_reference = models.CharField(max_length=200, blank=True)
    withhold_until = models.DateField(null=True, blank=True, help_text=_("Hidden from the client until this date."))
    withhold_reference = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    disclosed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["response_deadline", "id"]

    def __str__(self):
        return f"{self.authority_name} · {self.reference_number}"

    def is_withheld(self, today=None) -> bool:
        """Under a non-disclosure requirement today: invisible to everyone but Legal, on every surface."""
        return bool(self.withhold_until) and self.withhold_until > (today or timezone.localdate())


class DisclosureSubject(models.Model):
    """A client concerned by a disclosure, with what was requested and what was actually disclosed about them."""

    disclosure = models.ForeignKey(Disclosure, on_delete=models.PROTECT, related_name="subjects")
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="disclosures")
    categories_disclosed = models.JSONField(default=list)
    client_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["disclosure", "client"], name="disclosure_subject_unique")]


class DisclosureAuditEntry(models.Model):
    """Every change of a disclosure's state, by whom and why. Append-only."""

    disclosure = models.ForeignKey(Disclosure, on_delete=models.PROTECT, related_name="audit")
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class DisclosureNote(models.Model):
    """A correction or remark appended to a disclosure; the record itself never changes once disclosed."""

    disclosure = models.ForeignKey(Disclosure, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]


def _document_path(document, filename):
    return f"disclosures/{document.disclosure_id}/{filename}"


class DisclosureDocument(models.Model):
    """The authority's request, our response, or another paper of the file — stored outside the web root."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("The authority's request")
        RESPONSE = "response", _("Our response")
        NON_DISCLOSURE = "non-disclosure", _("Non-disclosure requirement")
        OTHER = "other", _("Other")

    disclosure = models.ForeignKey(Disclosure, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    file = models.FileField(upload_to=_document_path)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.original_name}"


class TransparencyPeriod(models.Model):
    """A half-year of the public transparency report, published once it has ended; what it says never changes."""

    year = models.PositiveSmallIntegerField()
    half = models.PositiveSmallIntegerField()
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["year", "half"]
        constraints = [models.UniqueConstraint(fields=["year", "half"], name="transparency_period_unique")]


class TransparencyEntry(models.Model):
    """One request as a published half-year counts it, frozen at publication: a request enters the report once, in
    the first half-year published after it was received and after any non-disclosure requirement has ended."""

    period = models.ForeignKey(TransparencyPeriod, on_delete=models.PROTECT, related_name="entries")
    disclosure = models.OneToOneField(Disclosure, on_delete=models.PROTECT, related_name="transparency_entry")
    country = models.CharField(max_length=2)
    process = models.CharField(max_length=20)
    client_ids = models.JSONField(default=list)  # to count distinct clients per row; never published
    outcome = models.CharField(max_length=10)  # produced, rejected or open, as it stood at publication
