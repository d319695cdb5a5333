"""Data-subject requests and what they produce: the queue, its thread, exports, legal holds and rectifications."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.jurisdictions import Jurisdiction


class ResponseDeadlineRule(models.Model):
    """How long we have to answer a request, per jurisdiction (rules as data; "other" is the default)."""

    jurisdiction = models.CharField(max_length=8, choices=Jurisdiction.choices, unique=True)
    months = models.PositiveSmallIntegerField(default=0)
    days = models.PositiveSmallIntegerField(default=0)
    law = models.CharField(max_length=200, help_text=_("Where the deadline comes from, e.g. GDPR Art. 12(3)."))
    extension_months = models.PositiveSmallIntegerField(default=0, help_text=_("At most this much longer, with notice."))
    extension_days = models.PositiveSmallIntegerField(default=0)
    verification_pauses_clock = models.BooleanField(default=True, help_text=_(
        "Whether the time spent verifying the requester's identity is added to the deadline. Not under the CCPA: "
        "its 45 days run from receipt whatever verification takes (11 CCR §7021(b))."))

    def __str__(self):
        months = f"{self.months} month(s) " if self.months else ""
        days = f"{self.days} days" if self.days else ""
        return f"{self.get_jurisdiction_display()}: {months}{days}".strip()


class DataSubjectRequest(models.Model):
    class Kind(models.TextChoices):
        ACCESS = "access", _("Access (see my data)")
        EXPORT = "export", _("Export (portability)")
        RECTIFICATION = "rectification", _("Rectification")
        ERASURE = "erasure", _("Erasure")
        OBJECTION = "objection", _("Objection to direct marketing")
        QUESTION = "question", _("Question")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        PUBLIC_FORM = "public-form", _("Public form")
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Letter")
        PHONE = "phone", _("Phone")

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", _("E-mail not yet verified")
        AWAITING_CLIENT = "awaiting-client", _("Waiting for the client to confirm the authorised agent")
        OPEN = "open", _("Open")
        IN_PROGRESS = "in-progress", _("In progress")
        SCHEDULED = "scheduled", _("Scheduled (grace period)")
        COMPLETED = "completed", _("Completed")
        REFUSED = "refused", _("Refused")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="data_subject_requests")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    requester_name = models.CharField(max_length=200, blank=True, help_text=_("For requests from people without an account."))
    requester_email = models.EmailField(blank=True)
    details = models.TextField(blank=True)
    received_at = models.DateTimeField()
    jurisdiction = models.CharField(max_length=8, choices=Jurisdiction.choices, default=Jurisdiction.OTHER)
    due_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    extended_to = models.DateField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, blank=True, help_text=_(
        "The requester's language for e-mails when no client is linked (a client's own language is used otherwise)."))
    acknowledged_at = models.DateTimeField(null=True, blank=True, help_text=_(
        "When receipt was confirmed to the requester (within 10 business days, 11 CCR §7021(a))."))
    clock_paused_since = models.DateTimeField(null=True, blank=True, help_text=_(
        "While set, verification of the requester's identity stops the deadline (see the pauses below)."))
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text=_("When a scheduled erasure takes effect."))
    outcome = models.TextField(blank=True)
    refusal_reason = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                  help_text=_("Who closed the request: an appeal of a refusal is decided by someone else."))

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["status", "due_on"], name="dsr_queue_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.public_id}"

    @property
    def effective_due_on(self):
        """The due date in force: the extension if any, moved on by a verification pause that is still running."""
        due = self.extended_to or self.due_on
        if self.clock_paused_since is not None:
            due += timedelta(days=(timezone.localdate() - timezone.localdate(self.clock_paused_since)).days)
        return due

    @property
    def acknowledgement_due_on(self):
        from .deadlines import acknowledgement_due_on

        return acknowledgement_due_on(received=timezone.localdate(self.received_at))


class RequestClockPause(models.Model):
    """A stop of a request's deadline while the requester's identity is verified (the evidence of why `due_on`
    moved): its start, its end, and how many days it added — none where the rule does not let verification pause
    the clock (`ResponseDeadlineRule.verification_pauses_clock`). Only ever added to and ended, never deleted."""

    class Reason(models.TextChoices):
        EMAIL_VERIFICATION = "email", _("Waiting for the requester to confirm their e-mail address")
        IDENTITY_VERIFICATION = "identity", _("Waiting for information to verify the requester's identity")
        AGENT_CONFIRMATION = "agent", _("Waiting for the client to confirm the authorised agent's permission")

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="pauses")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    note = models.TextField(blank=True, help_text=_("What was asked for, and how the identity was then verified."))
    started_at = models.DateTimeField()
    started_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    moves_deadline = models.BooleanField(default=True)
    days_added = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["request"], condition=models.Q(ended_at__isnull=True),
                                               name="one_running_pause_per_request")]


class RequestMessage(models.Model):
    """The thread of a request: what the client wrote, what staff answered (by e-mail), internal notes."""

    class Direction(models.TextChoices):
        INCOMING = "in", _("From the client")
        OUTGOING = "out", _("To the client")
        NOTE = "note", _("Internal note")

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=4, choices=Direction.choices)
    author = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    body = models.TextField()
    at = models.DateTimeField(auto_now_add=True)
    delivery = models.ForeignKey("notify.OutboundMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["at", "id"]


class DataExport(models.Model):
    """A ZIP of everything held about a client, built by a task; downloadable by that client only, for 7 days."""

    class Status(models.TextChoices):
        BUILDING = "building", _("Being prepared")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    request = models.OneToOneField(DataSubjectRequest, on_delete=models.CASCADE, related_name="export")
    client = models.ForeignKey("accounts.Client", on_delete=models.CASCADE, related_name="exports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloads = models.PositiveIntegerField(default=0)


class LegalHold(models.Model):
    """A hold on a client's data: erasure waits while it is active. Set by a privacy officer or Legal, or kept by
    `disclosure_holds_sync` for each client an open disclosure concerns (`disclosure` set; it ends with the request).

    An empty `reason` tells the client the standard legal-obligation wording (`rights.holds.LEGAL_OBLIGATION_REASON`,
    in their language): it is also what a disclosure under a non-disclosure requirement reads like, so the two
    cannot be told apart."""

    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="legal_holds")
    disclosure = models.ForeignKey("disclosures.Disclosure", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    reason = models.TextField(blank=True, help_text=_(
        "Shown to the client as written. Leave it empty to show the standard legal-obligation wording in the "
        "client's language."))
    keep_until = models.DateField(null=True, blank=True, help_text=_("Until when the data is expected to be kept."))
    set_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)
    released_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-set_at"]


class Rectification(models.Model):
    """A corrected value: which field, when, by whom — old and new values only as salted digests, never in clear."""

    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="rectifications")
    field = models.CharField(max_length=50)
    old_digest = models.CharField(max_length=64)
    new_digest = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    request = models.ForeignKey(DataSubjectRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["at", "id"]


class RetentionRun(models.Model):
    """One run of the retention job (rights/retention): when, started by what, and per rule how many items were
    deleted or anonymised, kept under a legal hold, or failed — counts only, never an item or a person. Append-only:
    on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE. Dry runs change nothing and leave no row."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Daily schedule")
        COMMAND = "command", _("Command")

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    # {rule code: {"action": "delete" | "anonymise" | "erase" | "warn", "done": n, "held": n, "failed": n}}
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-finished_at", "-id"]

    def __str__(self):
        return f"retention run {self.finished_at:%Y-%m-%d %H:%M}"

    def total(self, key: str) -> int:
        return sum(int(entry.get(key, 0)) for entry in self.counts.values())


class AuthorisedAgent(models.Model):
    """Someone who made a request for a client, with the client's signed permission (11 CCR §7063). The request's
    requester is the client (answers go to the client, never to the agent); nothing is done until the client
    confirms by the link e-mailed to the client's own address."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("Waiting for the client")
        CONFIRMED = "confirmed", _("Confirmed by the client")
        REFUSED = "refused", _("Refused by the client")
        EXPIRED = "expired", _("Not confirmed in time")

    request = models.OneToOneField(DataSubjectRequest, on_delete=models.CASCADE, related_name="agent")
    agent_name = models.CharField(max_length=200)
    agent_email = models.EmailField()
    permission_file = models.FileField(upload_to="agent-permissions/%Y/%m/", help_text=_(
        "The signed permission: under MEDIA_ROOT with a random name, downloaded only through the admin."))
    permission_name = models.CharField(max_length=255, help_text=_("The file's name as uploaded."))
    permission_sha256 = models.CharField(max_length=64)
    permission_size = models.PositiveIntegerField()
    submitted_at = models.DateTimeField()
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.agent_name} <{self.agent_email}>"


class RequestAppeal(models.Model):
    """An appeal of a refused request (VCDPA §59.1-577(C); CPA 6-1-1306(3)): one per request, due in
    RIGHTS_APPEAL_DAYS, decided by someone other than who refused the request."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        UPHELD = "upheld", _("Refusal upheld")
        REVERSED = "reversed", _("Refusal reversed")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        LINK = "link", _("Link in the refusal e-mail")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    request = models.OneToOneField(DataSubjectRequest, on_delete=models.PROTECT, related_name="appeal")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    grounds = models.TextField(blank=True, help_text=_("Why the requester disagrees with the refusal."))
    received_at = models.DateTimeField()
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    refused_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   help_text=_("Who refused the request: they may not decide its appeal."))
    decided_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["status", "due_on", "id"]

    def __str__(self):
        return f"{_('Appeal')} · {str(self.request.public_id)[:8].upper()}"
