"""Purposes, the rules that set their defaults, and the append-only, hash-chained consent ledger."""

import uuid

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.jurisdictions import Jurisdiction

from .fields import Sha256Field


class LegalBasis(models.TextChoices):
    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Contract")
    LEGITIMATE_INTEREST = "legitimate-interest", _("Legitimate interest")
    LEGAL_OBLIGATION = "legal-obligation", _("Legal obligation")
    VITAL_INTERESTS = "vital-interests", _("Vital interests")


class DataCategory(models.TextChoices):
    NAME = "name", _("Name")
    EMAIL = "email", _("Email address")
    PHONE = "phone", _("Phone number")
    IP_ADDRESS = "ip_address", _("IP address")
    SHIPPING_ADDRESS = "shipping_address", _("Shipping address")


class RecipientClass(models.TextChoices):
    NONE = "none", _("Nobody outside Fulfillmen")
    AFFILIATES = "affiliates", _("Affiliated companies")
    DROPSHIP_PARTNERS = "dropship-partners", _("Drop-shipping partners")
    ACQUIRER = "acquirer", _("An acquirer in a business transfer")
    AUTHORITIES = "authorities", _("Law enforcement and government authorities")
    CLAIM_PARTIES = "claim-parties", _("Courts, parties to a claim and their lawyers")


class Purpose(models.Model):
    """Why Fulfillmen uses personal data: one row per use the policy names."""

    code = models.SlugField(max_length=100, unique=True)
    title_en = models.CharField(max_length=120)
    title_zh_hans = models.CharField(max_length=120)
    description_en = models.TextField()
    description_zh_hans = models.TextField()
    legal_basis = models.CharField(max_length=24, choices=LegalBasis.choices)
    data_categories = models.JSONField(default=list, help_text=_("Codes from: name, email, phone, ip_address, shipping_address."))
    recipient_class = models.CharField(max_length=24, choices=RecipientClass.choices, default=RecipientClass.NONE)
    transfer_outside_china = models.BooleanField(default=False)
    withdrawable = models.BooleanField(default=False)
    # A "sale or sharing" in CCPA terms: a Global Privacy Control signal opts out of it.
    opted_out_by_gpc = models.BooleanField(default=False)
    is_marketing = models.BooleanField(default=False)
    # PIPL Art. 55(1)-(2): processing sensitive personal information (Art. 28) or deciding automatically (Art. 24)
    # needs an approved impact assessment before it starts, as sending data abroad does (processing/).
    sensitive_data = models.BooleanField(default=False, help_text=_("Processes sensitive personal information (PIPL Art. 28)."))
    automated_decision = models.BooleanField(
        default=False, help_text=_("Takes decisions about clients by automated means (PIPL Art. 24; GDPR Art. 22)."))
    # A purpose a later policy version adds starts withdrawn for every client, whatever the jurisdiction's
    # rule, until that client gives it (PIPL Art. 14(2); GDPR Art. 13(3)): a new version never consents for anyone.
    introduced_in = models.ForeignKey("amendments.PolicyVersion", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", help_text=_("The policy version that added this purpose."))
    display_order = models.PositiveSmallIntegerField(default=100)
    # Consent per recipient (PIPL Art. 23, 39): a purpose with named recipients has one child purpose per recipient,
    # so that each client gives or refuses each recipient separately (docs/recipients.md). The sharing app makes the
    # children when an agreement is signed; consent knows only that a child belongs to its parent.
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
                               help_text=_("The purpose this is the consent to one recipient of."))

    class Meta:
        ordering = ["display_order", "code"]

    def __str__(self):
        return self.title_en

    @property
    def title(self):
        return self.title_zh_hans if (get_language() or "").startswith("zh") else self.title_en

    @property
    def description(self):
        return self.description_zh_hans if (get_language() or "").startswith("zh") else self.description_en

    IMPACT_ASSESSMENT_FLAGS = ("sensitive_data", "automated_decision", "transfer_outside_china")

    def impact_assessment_reasons(self) -> set[str]:
        """PIPL Art. 55: which of its flags oblige an approved assessment before this purpose starts (consent.impact_hooks)."""
        return {flag for flag in self.IMPACT_ASSESSMENT_FLAGS if getattr(self, flag)}

    @property
    def impact_assessment_required(self) -> bool:
        return bool(self.impact_assessment_reasons())

    def data_category_labels(self):
        return [DataCategory(c).label for c in self.data_categories if c in DataCategory.values]


# Answers to material policy changes (consent/policy_answers.py): only the client gives them, on the change's own
# page. Sign-up records no default for it (a default "acceptance" would be made up) and "Your choices" omits it.
POLICY_ACCEPTANCE = "policy-acceptance"
# Answers at sign-up where an age rule applies (accounts/minors.py): the client's "I am N or older", or the consent
# of the parent or guardian of a younger one. Evidence, not choices: no default, no toggle.
AGE_CONFIRMATION = "age-confirmation"
GUARDIAN_CONSENT = "guardian-consent"
NOT_A_CHOICE = (POLICY_ACCEPTANCE, AGE_CONFIRMATION, GUARDIAN_CONSENT)


class ConsentDefaultRule(models.Model):
    """Data, not code: whether a consent-based purpose starts granted (opt-out) or not (opt-in).

    A rule naming a purpose beats the jurisdiction-wide rule (purpose left empty). With no rule at all a
    purpose starts withdrawn: asking first is always lawful. Changing a rule never rewrites past events.
    """

    jurisdiction = models.CharField(max_length=8, choices=Jurisdiction.choices)
    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE, null=True, blank=True,
                                help_text=_("Empty: every consent-based purpose in this jurisdiction."))
    granted_by_default = models.BooleanField(_("granted until the client objects (opt-out)"))
    note = models.CharField(max_length=200, blank=True, help_text=_("Why, e.g. the article of the law."))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "purpose"], name="consent_rule_unique"),
            models.UniqueConstraint(fields=["jurisdiction"], condition=models.Q(purpose__isnull=True),
                                    name="consent_rule_one_general_per_jurisdiction"),
        ]

    def __str__(self):
        model = _("opt-out") if self.granted_by_default else _("opt-in")
        return f"{self.get_jurisdiction_display()} · {self.purpose or _('all consent purposes')} · {model}"


class ConsentAction(models.TextChoices):
    GRANT = "grant", _("Granted")
    WITHDRAW = "withdraw", _("Withdrawn")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    GPC = "gpc", _("Global Privacy Control signal")
    DO_NOT_SELL = "do-not-sell", _("Do Not Sell or Share link")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    STAFF = "staff", _("Staff")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    SIGNUP = "signup", _("Sign-up")


class ConsentEvent(models.Model):
    """One change of a client's consent to one purpose. Never updated, never deleted (a trigger enforces it).

    `entry_hash` covers the event's content and the previous event's hash for the same client. Personal values
    (IP, user agent, free text, evidence) live in ConsentEventPersonalData so erasure can remove them; the hash
    covers only their salted digest, so the chain still verifies afterwards.
    """

    receipt_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Indexes (issue #20, goal 4; docs/performance.md): the chain position (client_id, sequence) also serves every
    # lookup by client, so client_id has none of its own; policy_version_id has none either (only the refused
    # delete of a referenced version would use it). purpose_id keeps one: the objections to a policy version are
    # found through the policy-acceptance purpose.
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="consent_events",
                               db_index=False)
    sequence = models.PositiveIntegerField(help_text=_("Position in this client's chain, from 1."))
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=8, choices=ConsentAction.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    policy_version = models.ForeignKey("amendments.PolicyVersion", on_delete=models.PROTECT, null=True, blank=True,
                                       db_index=False)
    occurred_at = models.DateTimeField(help_text=_("When the client acted (for letters and emails: when received)."))
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    db_index=False)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    # 32 bytes each on disk, hex strings in Python (consent/fields.py). entry_hash needs no unique index: a second
    # event with the same hash would need the same client and sequence, which the chain position refuses.
    personal_digest = Sha256Field()
    previous_hash = Sha256Field()
    entry_hash = Sha256Field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "sequence"], name="consent_event_chain_position"),
            # Only the few events that have a key are indexed (most have none).
            models.UniqueConstraint(fields=["idempotency_key"], condition=models.Q(idempotency_key__isnull=False),
                                    name="consent_event_idempotency_key"),
            # A writer that still sends hex text (64 bytes in a bytea) is refused rather than storing it.
            *[models.CheckConstraint(condition=models.Q(**{f"{name}__length": 32}), name=f"consent_event_{name}_32_bytes")
              for name in ("personal_digest", "previous_hash", "entry_hash")],
        ]
        indexes = [
            # Deleting a staff user asks whether they recorded an event: the few who did are indexed, nobody else.
            models.Index(fields=["recorded_by"], condition=models.Q(recorded_by__isnull=False), name="consent_event_recorded_by"),
        ]
        ordering = ["client_id", "sequence"]
        permissions = [
            ("record_offline_consent", "Can record consent received by email or letter"),
            ("import_consent_csv", "Can import offline opt-outs from CSV"),
        ]

    def __str__(self):
        return f"#{self.sequence} {self.get_action_display()}: {self.purpose.code} ({self.client.public_id})"


class ConsentEventPersonalData(models.Model):
    """The personal values of an event, kept beside it so that erasure can delete them."""

    event = models.OneToOneField(ConsentEvent, on_delete=models.PROTECT, primary_key=True, related_name="personal")
    salt = models.CharField(max_length=32)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    reason = models.TextField(blank=True)
    evidence_reference = models.CharField(max_length=200, blank=True)
    evidence_received_on = models.DateField(null=True, blank=True)
    evidence_file = models.FileField(upload_to="consent-evidence/%Y/%m/", blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)


class ConsentState(models.Model):
    """The current consent per client and purpose: always the outcome of the last event, written with it."""

    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="consent_states")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT)
    granted = models.BooleanField()
    last_event = models.OneToOneField(ConsentEvent, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "purpose"], name="consent_state_unique")]
        indexes = [models.Index(fields=["purpose", "granted", "client"], name="consent_state_purpose_idx")]


class ConsentChain(models.Model):
    """The head of a client's chain. Its row is locked while an event is appended, so writes for one client
    queue up in order while writes for different clients never wait for each other."""

    client = models.OneToOneField("accounts.Client", on_delete=models.CASCADE, primary_key=True, related_name="+")
    length = models.PositiveIntegerField(default=0)
    head_hash = Sha256Field(default="")  # "" (no bytes) until the first event

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(head_hash__length__in=[0, 32]),
                                              name="consent_chain_head_hash_32_bytes")]
