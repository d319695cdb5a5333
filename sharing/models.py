"""Who may receive what, the keys they use, a record of everything that left, and what they must delete."""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.data import COUNTRIES

from accounts.jurisdictions import is_abroad, storage_location_label
from consent.models import DataCategory


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


class Affiliate(models.Model):
    """A company outside Fulfillmen that receives client data: affiliated companies and drop-shipping partners."""

    class Kind(models.TextChoices):
        AFFILIATED_COMPANY = "affiliated-company", _("Affiliated company")
        DROPSHIP_PARTNER = "dropship-partner", _("Drop-shipping partner")
        BUSINESS_TRANSFER = "business-transfer", _("Business-transfer counterparty")
        # Acts only on Fulfillmen's instructions under a processor agreement (GDPR Art. 28; PIPL Art. 21): the
        # e-mail and SMS providers, hosting. Listed to clients as "processors".
        PROCESSOR = "processor", _("Processor")

    class TransferMechanism(models.TextChoices):
        """What makes a transfer of data stored in China to this recipient lawful (PIPL Art. 38; GDPR Art. 44-49)."""

        NONE = "none", _("None: the recipient may not receive data abroad")
        PIPL_STANDARD_CONTRACT = "pipl-standard-contract", _("PIPL standard contract filed with the CAC")
        PIPL_CERTIFICATION = "pipl-certification", _("PIPL personal information protection certification")
        CAC_SECURITY_ASSESSMENT = "cac-security-assessment", _("CAC security assessment")
        ADEQUACY = "adequacy", _("Adequacy decision")
        EU_SCC = "eu-scc", _("EU standard contractual clauses")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    country = models.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2, e.g. CN, US."))
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    address = models.TextField(blank=True, help_text=_("The recipient's postal address, as shown to clients."))
    rights_contact = models.CharField(
        max_length=300, blank=True,
        help_text=_("How a client exercises their rights against this recipient: an e-mail address or a web page."))
    transfer_mechanism = models.CharField(max_length=24, choices=TransferMechanism.choices, default=TransferMechanism.NONE)
    transfer_mechanism_reference = models.CharField(
        max_length=200, blank=True, help_text=_("The filing, certificate or contract reference of the mechanism."))
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def abroad(self) -> bool:
        """Whether what it receives leaves the country where the data is stored (settings.DATA_STORAGE_COUNTRY)."""
        return is_abroad(self.country)

    def clean(self):
        """A recipient abroad needs a transfer mechanism and its reference (PIPL Art. 38; GDPR Art. 44-49); a mechanism
        is never named without the reference that proves it."""
        super().clean()
        self.country = (self.country or "").strip().upper()
        errors = {}
        if self.country and self.country not in COUNTRIES:
            errors["country"] = _("Give an ISO 3166-1 alpha-2 country code, e.g. CN, HK, US.")
        elif self.country and self.abroad and self.transfer_mechanism == self.TransferMechanism.NONE:
            errors["transfer_mechanism"] = _(
                "This recipient is outside %(storage)s, where the data is stored: choose the mechanism that makes the "
                "transfer lawful (standard contract, certification, security assessment, adequacy or SCCs).") % {
                "storage": storage_location_label()}
        if self.transfer_mechanism != self.TransferMechanism.NONE and not self.transfer_mechanism_reference.strip():
            errors["transfer_mechanism_reference"] = _("Give the filing, certificate or contract reference of the mechanism.")
        contact = self.rights_contact.strip()
        if contact and not _is_email(contact) and not contact.startswith("https://"):
            errors["rights_contact"] = _("Give an e-mail address or a web page starting with https://.")
        if errors:
            raise ValidationError(errors)


def transfer_mechanism_label(code: str) -> str:
    """A sharing record's transfer mechanism as clients read it ("Who received your data", the export); empty for
    none (the data stayed where it is stored)."""
    if code in Affiliate.TransferMechanism.values and code != Affiliate.TransferMechanism.NONE:
        return str(Affiliate.TransferMechanism(code).label)
    return ""


class SharingAgreement(models.Model):
    """Which fields an affiliate may receive for one purpose, and when. Nothing outside it is ever returned."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="agreements")
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+")
    fields = models.JSONField(help_text=_("Codes from: name, email, phone, ip_address, shipping_address."))
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(max_length=200, blank=True, help_text=_("The signed contract's reference."))
    # Whether the recipient may learn that a client gave consent (the consent.granted webhook, issue #19): off unless
    # the contract says so, since a grant names a client the recipient may not have received yet.
    tells_grants = models.BooleanField(
        _("tells of new consents"), default=False, db_default=False,
        help_text=_("The contract lets the recipient learn, by webhook, that a client gave consent."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["affiliate", "purpose", "-valid_from"]
        indexes = [models.Index(fields=["affiliate", "purpose", "valid_from"], name="agreement_lookup_idx")]

    def __str__(self):
        return f"{self.affiliate} · {self.purpose.code}"

    def field_labels(self):
        return [DataCategory(f).label for f in self.fields if f in DataCategory.values]


class RecipientConsent(models.Model):
    """The consent purpose through which each client gives or refuses one recipient for one purpose (PIPL Art. 23, 39):
    a child of the purpose the agreement names (consent.Purpose.parent). For a purpose resting on consent it is the
    consent itself; for one that does not (order fulfilment, a contract) it exists only for a recipient abroad, as
    the separate consent to that transfer. Made by `recipient_consent_ensure` when an agreement is created."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="recipient_consents")
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+")
    consent_purpose = models.OneToOneField("consent.Purpose", on_delete=models.PROTECT, related_name="recipient_consent")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["affiliate", "purpose"], name="recipient_consent_unique")]

    def __str__(self):
        return f"{self.affiliate} · {self.consent_purpose.code}"


class ApiKey(models.Model):
    """An affiliate's key. Only a hash is stored; the key is shown once, when it is made."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True, help_text=_("What the key is for, e.g. 'nightly sync'."))
    prefix = models.CharField(max_length=12, unique=True, help_text=_("The visible start of the key."))
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.affiliate})"


# The bit of each DataCategory in a sharing record's `fields` (a smallint): fixed once given, never reused; a new
# category takes the next free bit (15 fit in a smallint).
DATA_CATEGORY_BITS = {"name": 0, "email": 1, "phone": 2, "ip_address": 3, "shipping_address": 4}


class DataCategorySetField(models.SmallIntegerField):
    """A list of DataCategory codes stored as a bit set in a smallint (2 bytes instead of ~45 of jsonb): the Python
    value is the list of codes, sorted; a code without a bit is refused, never dropped (issue #20).

    JSON lookups do not apply (`fields__contains`): filter by `bits_of([...])` with a bitwise expression if needed."""

    description = "A set of DataCategory codes (bits of a smallint)"
    copy_converts = True  # accounts.bulk.rows_insert passes the value through get_db_prep_value for COPY

    def from_db_value(self, value, expression, connection):
        return None if value is None else codes_of(value)

    def to_python(self, value):
        if value is None or isinstance(value, list | tuple | set | frozenset):
            return None if value is None else sorted(set(value))
        return codes_of(int(value))

    def get_prep_value(self, value):
        if value is None or isinstance(value, int):
            return value
        return bits_of(value)

    def value_to_string(self, obj):
        return self.value_from_object(obj)  # serialized as the list (dumpdata / loaddata), as a JSONField was


def bits_of(codes) -> int:
    """The bit set of these DataCategory codes; ValueError for a code that has no bit."""
    unknown = sorted(set(codes) - DATA_CATEGORY_BITS.keys())
    if unknown:
        raise ValueError(f"not a data category with a bit: {', '.join(map(str, unknown))}")
    return sum(1 << DATA_CATEGORY_BITS[code] for code in set(codes))


def codes_of(bits: int) -> list[str]:
    return sorted(code for code, bit in DATA_CATEGORY_BITS.items() if bits & (1 << bit))


class SharingRecord(models.Model):
    """One client's data leaving Fulfillmen once: to whom, for what, which fields, when, through which request.

    Written in the same transaction as the response that carries the data; evidence, never edited.
    """

    # A table partitioned by month on `shared_at` (migration 0012, sharing/partitions.py; docs/performance.md). Its
    # database key is (client_id, shared_at, id) -- a partitioned table's keys must contain `shared_at` -- which,
    # read backwards, is also the portal's "newest first for a client" index; `id` stays the primary key Django
    # knows (admin, `.get(pk=)`), unique because only the sequence assigns it, found through a BRIN index.
    # No single-column indexes on client, affiliate, purpose and key: the key and the holder index start with the
    # first two, and a purpose or key that records name cannot be deleted anyway (issue #9, #20).
    # The four references are checked by the database once per statement, not once per row (migration 0010): a page
    # of 2,000 records took 8,000 foreign-key checks, most of the affiliate sync's time (issue #20).
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="sharing_records", db_index=False,
                               db_constraint=False)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, null=True, blank=True, related_name="records",
                                  db_index=False, db_constraint=False)
    recipient_name = models.CharField(max_length=200)
    recipient_country = models.CharField(max_length=2, blank=True)
    # The recipient's transfer mechanism when the data went abroad (an Affiliate.TransferMechanism value); empty when
    # it stayed in the country where it is stored. Kept as it was then: the evidence of the transfer's ground.
    transfer_mechanism = models.CharField(max_length=24, blank=True, db_default="")
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+", db_constraint=False,
                                db_index=False)
    fields = DataCategorySetField()
    shared_at = models.DateTimeField()
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                db_constraint=False, db_index=False)
    request_id = models.UUIDField(null=True, blank=True)
    # A disclosure under a written non-disclosure requirement: not shown to the client before this date.
    withheld_until = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["affiliate", "purpose", "client"], name="sharing_record_holder_idx")]


class WithdrawalNotice(models.Model):
    """Tells one affiliate that a client it received data about is no longer shareable for a purpose, so it must
    delete its copy, or that data it received was corrected, so it must refresh or delete it (GDPR Art. 19).
    Acknowledged by the affiliate over the API."""

    class Reason(models.TextChoices):
        CONSENT_WITHDRAWN = "consent-withdrawn", _("Consent withdrawn")
        GPC = "gpc", _("Global Privacy Control signal")
        ERASURE = "erasure", _("Data erased at the client's request")
        AGREEMENT_ENDED = "agreement-ended", _("Sharing agreement ended or changed")
        RECTIFIED = "rectified", _("Data corrected: fetch the current value or delete your copy")
        # The client's last order routed to a drop-shipping partner ended ENGAGEMENT_TAIL_DAYS ago.
        ENGAGEMENT_ENDED = "engagement-ended", _("No order of the client's with you any more")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="withdrawal_notices")
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    # Only for `rectified`: which of the fields the affiliate received were corrected (DataCategory codes).
    fields = models.JSONField(default=list, blank=True)
    occurred_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["affiliate", "purpose", "occurred_at"], name="withdrawal_feed_idx")]


class PartnerEngagement(models.Model):
    """An order of a client routed to a drop-shipping partner, as the orders/WMS side reports it. A partner receives
    only the clients it has an engagement with, while it lasts and for ENGAGEMENT_TAIL_DAYS after it ended."""

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin")
        CSV = "csv", _("CSV import")
        API = "api", _("WMS API")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="engagements",
                                  verbose_name=_("partner"))
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="partner_engagements",
                               db_index=False)
    order_reference = models.CharField(_("order reference"), max_length=100)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_by_key = models.ForeignKey("WmsKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    # When the partner was told to delete the client (the tail after this engagement and any later one ended).
    feed_closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("partner engagement")
        verbose_name_plural = _("partner engagements")
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["affiliate", "order_reference"], name="one_engagement_per_order")]
        indexes = [models.Index(fields=["client", "affiliate"], name="engagement_client_idx")]

    def __str__(self):
        return f"{self.order_reference} · {self.affiliate}"


class WmsKey(models.Model):
    """Fulfillmen's own warehouse system's key for recording engagements (`fwms_<prefix>_<secret>`). Not an
    affiliate's key: a partner can never record an engagement for itself. Only a hash is stored."""

    name = models.CharField(max_length=100, help_text=_("Which system uses it, e.g. 'WMS production'."))
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("WMS key")
        verbose_name_plural = _("WMS keys")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.name})"


class ProcessorTally(models.Model):
    """The "Processors" part of "Who received your data", kept up to date instead of counted: per client, processor,
    purpose and set of fields, how many messages went to it and when the last did. Written by the statement after the
    one that inserts the messages' sharing records, in their transaction (`sharing.processors.messages_sent_record`),
    so it always sums exactly the client's processor records written (retention's dropped months stay counted); a
    page reads a few rows instead of grouping every
    record of a long history (issue #20). Only records naming a processor of the catalogue are counted."""

    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="+", db_index=False)
    recipient_name = models.CharField(max_length=200)
    recipient_country = models.CharField(max_length=2, blank=True)
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+", db_index=False)
    # The DataCategory codes the messages carried, sorted and comma-separated: one row per distinct set.
    fields = models.CharField(max_length=200)
    times = models.PositiveIntegerField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "recipient_name", "recipient_country", "purpose", "fields"],
                                               name="processor_tally_key")]
