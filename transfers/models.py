"""Business transfers (seed policy "Business transfer and financial transaction"; PIPL Art. 22; GDPR Art. 13/14):
a merger, acquisition, asset sale or financing that moves client data to another company, announced to every client
concerned, who may object before a deadline; then handed over, with a sharing record per client."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from consent.models import DataCategory


class BusinessTransfer(models.Model):
    class Kind(models.TextChoices):
        MERGER = "merger", _("Merger")
        ACQUISITION = "acquisition", _("Acquisition")
        ASSET_SALE = "asset-sale", _("Asset sale")
        FINANCING = "financing", _("Financing")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Announced to clients")
        HANDING_OVER = "handing-over", _("Handing over")  # asked for; a worker is generating the file and records
        HANDED_OVER = "handed-over", _("Handed over")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    acquirer_name = models.CharField(_("acquirer's legal name"), max_length=200)
    acquirer_contact_name = models.CharField(_("acquirer's contact person"), max_length=200)
    acquirer_contact_email = models.EmailField(_("acquirer's contact e-mail"))
    acquirer_address = models.TextField(_("acquirer's postal address"))
    acquirer_country = models.CharField(_("acquirer's country"), max_length=2, help_text=_("ISO 3166-1 alpha-2"))
    affiliate = models.ForeignKey("sharing.Affiliate", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                  verbose_name=_("acquirer in the recipient catalogue"),
                                  help_text=_("Optional: a recipient of kind “Business-transfer counterparty”. Its "
                                              "sharing records then name it, and erasures reach its withdrawal feed."))
    data_categories = models.JSONField(_("data handed over"), default=list)
    # Which clients: every one, or only those living in the countries / under the laws listed (both: either matches).
    scope_countries = models.JSONField(_("only clients living in"), default=list, blank=True)
    scope_jurisdictions = models.JSONField(_("only clients under"), default=list, blank=True)
    changes_purpose = models.BooleanField(_("the acquirer will use the data for a new purpose"), default=False)
    new_purpose_en = models.TextField(_("the new purpose (English)"), blank=True)
    new_purpose_zh_hans = models.TextField(_("the new purpose (Simplified Chinese)"), blank=True)
    new_purpose = models.OneToOneField("consent.Purpose", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="business_transfer", editable=False)
    handover_on = models.DateField(_("date of handover"))
    objection_deadline = models.DateField(_("objection deadline"), help_text=_("The last day a client may object."))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, editable=False)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+", editable=False)
    published_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    handed_over_at = models.DateTimeField(null=True, blank=True, editable=False)
    # "Hand over…" queues the handover on a worker: who asked (the worker acts as them), when, and why the last
    # attempt failed (shown to staff; empty once a new attempt is asked for).
    handover_requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True,
                                              related_name="+", editable=False)
    handover_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    handover_error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("business transfer")
        verbose_name_plural = _("business transfers")
        ordering = ["-created_at", "-id"]
        permissions = [("publish_businesstransfer", "Can approve and announce a business transfer"),
                       ("hand_over_businesstransfer", "Can hand over the data of a business transfer")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.acquirer_name}"

    def get_acquirer_country_name(self) -> str:
        return str(countries.name(self.acquirer_country)) or self.acquirer_country

    def data_category_labels(self) -> list:
        return [DataCategory(c).label for c in self.data_categories if c in DataCategory.values]


class TransferSubject(models.Model):
    """A client a published transfer concerns, computed once at publication (erased clients never are)."""

    transfer = models.ForeignKey(BusinessTransfer, on_delete=models.PROTECT, related_name="subjects")
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="business_transfers")
    created_at = models.DateTimeField()
    handed_over_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["transfer", "client"], name="transfer_subject_unique")]
        indexes = [models.Index(fields=["client", "transfer"], name="transfer_subject_client_idx")]


class TransferObjection(models.Model):
    """A client's objection to a transfer: from the portal, or received by e-mail or letter and recorded by staff.
    Append-only (one per client and transfer; the first one counts)."""

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Letter")

    transfer = models.ForeignKey(BusinessTransfer, on_delete=models.PROTECT, related_name="objections")
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    received_on = models.DateField(help_text=_("The day the objection reached us."))
    reference = models.CharField(max_length=100, blank=True,
                                 help_text=_("For e-mails and letters: our filing reference (no personal data)."))
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["transfer", "client"], name="transfer_objection_unique")]
        ordering = ["recorded_at", "id"]


class TransferAuditEntry(models.Model):
    """Every change of a transfer, by whom and when. Append-only."""

    transfer = models.ForeignKey(BusinessTransfer, on_delete=models.PROTECT, related_name="audit")
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


def _handover_path(handover, filename):
    return f"transfers/{handover.transfer.public_id}/{filename}"


class TransferHandover(models.Model):
    """The file handed to the acquirer, generated in the transaction that writes the sharing records; stored outside
    the web root, downloaded only through the admin (each download is access-logged). The files are deleted
    TRANSFER_HANDOVER_FILE_DAYS after the handover (retention rule `transfer_handover_files`); the row, with the
    digests and counts, stays as proof of what was handed over."""

    transfer = models.OneToOneField(BusinessTransfer, on_delete=models.PROTECT, related_name="handover")
    csv_file = models.FileField(upload_to=_handover_path, blank=True)
    json_file = models.FileField(upload_to=_handover_path, blank=True)
    files_deleted_at = models.DateTimeField(null=True, blank=True)
    csv_sha256 = models.CharField(max_length=64)
    json_sha256 = models.CharField(max_length=64)
    client_count = models.PositiveIntegerField()
    categories = models.JSONField()
    generated_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField()
    request_id = models.UUIDField(help_text=_("The request id of the sharing records written with it."))
