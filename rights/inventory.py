"""Everything Fulfillmen holds about a client, declared once: each category with its purpose, legal basis,
retention period and how to read its rows. "Your data" (GDPR Art. 15, PIPL Art. 45, CCPA 1798.110) and the export
(GDPR Art. 20, PIPL Art. 45(3)) both read this list, so the page and the ZIP can never say different things.

`uncovered_models()` is the completeness check: every model with a field that leads to a client must be named by a
category here or in EXCLUDED with the reason, so a new model holding client data cannot be forgotten.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Model, OuterRef, Q, QuerySet, Subquery, Sum, Window
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.access_log import staff_access_months
from accounts.jurisdictions import is_abroad
from accounts.models import Address, Client, EmailChangeRequest, IPObservation
from amendments.models import NoticeDelivery
from breaches.client_notices import breach_text
from breaches.models import BreachSubject
from consent.models import ConsentEvent, ConsentState, DataCategory, LegalBasis, Purpose
from disclosures.models import Disclosure, DisclosureSubject
from notify.models import OutboundMessage
from sharing.models import PartnerEngagement, WithdrawalNotice, transfer_mechanism_label
from sharing.selectors import sharing_records_of_client
from transfers.models import TransferObjection
from transfers.selectors import transfer_subjects_of_client

from .holds import hold_reason
from .models import (
    AuthorisedAgent,
    DataExport,
    DataSubjectRequest,
    LegalHold,
    Rectification,
    RequestAppeal,
    RequestMessage,
)
from .retention.rules import retention_text

# Every retention text comes from its rule (rights/retention/rules.py): the job enforces what the page says.
_ACCOUNT_RETENTION = retention_text("dormant_accounts")
_REQUEST_LOG_RETENTION = retention_text("request_log")
_LEDGER_RETENTION = retention_text("sharing_evidence")
_consent_retention = retention_text("consent_ledger")


@dataclass(frozen=True)
class Category:
    """One kind of data held about a client."""

    code: str                                   # stable: the CSV file name, the data.json key, the page anchor
    title: Promise
    purpose: Promise                            # why it is held, in a sentence
    legal_basis: str                            # a LegalBasis value
    retention: Promise
    models: tuple[str, ...]                     # the models it covers, "app_label.Model"
    columns: tuple[tuple[str, Promise], ...]    # (key, label) of each value of a row
    read: Callable[[Client], QuerySet]          # the client's rows, newest first, with what `row` needs joined
    row: Callable[[Any], dict]                  # one object as plain values keyed by the column keys
    empty: Promise                              # what the page says when there is nothing
    purpose_codes: tuple[str, ...] = ()         # the uses of the purpose catalogue it serves
    single: bool = False                        # one row (shown as a list of fields, not a table)
    note: Promise | str = ""                    # what is held but deliberately not shown, and why

    @property
    def legal_basis_label(self) -> str:
        return LegalBasis(self.legal_basis).label

    @property
    def keys(self) -> list[str]:
        return [key for key, _label in self.columns]

    def first_rows(self, client: Client, *, limit: int) -> tuple[list[dict], int]:
        """The newest `limit` rows and how many there are in all, in one query whatever the history's length."""
        objects = list(self.read(client).annotate(_category_total=Window(Count("*")))[:limit])  # "*": grouped reads too
        if not objects:
            return [], 0
        first = objects[0]
        return [self.row(o) for o in objects], (first["_category_total"] if isinstance(first, dict) else first._category_total)

    def all_rows(self, client: Client) -> Iterable[dict]:
        return (self.row(o) for o in self.read(client).iterator(chunk_size=2000))


def _label(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else value


def _data_labels(codes) -> list[str]:
    return [_label(DataCategory, code) for code in codes or []]


# --- readers and rows, in the order of the page -------------------------------------------------------------------

def _identity(client: Client) -> QuerySet:
    return Client.objects.filter(pk=client.pk).select_related("user").order_by("pk")


def _identity_row(c: Client) -> dict:
    user = c.user
    return {"reference": str(c.public_id), "full_name": c.full_name, "email": c.email, "phone": c.phone,
            "country": str(c.country.name) if c.country else "", "region": c.region,
            "jurisdiction": c.get_jurisdiction_display(), "preferred_language": c.get_preferred_language_display(),
            "client_since": c.created_at, "updated_at": c.updated_at,
            "login_email": user.email if user else "", "last_login": user.last_login if user else None,
            "login_created": user.date_joined if user else None}


def _address_row(a: Address) -> dict:
    return {"kind": a.get_kind_display(), "line1": a.line1, "line2": a.line2, "city": a.city, "region": a.region,
            "postcode": a.postcode, "country": str(a.country.name), "added_at": a.created_at}


def _ip_row(o: IPObservation) -> dict:
    return {"ip_address": o.ip_address, "first_seen": o.first_seen, "last_seen": o.last_seen,
            "last_seen_during": o.get_last_context_display()}


def _state_row(s: ConsentState) -> dict:
    return {"purpose": s.purpose.title, "purpose_code": s.purpose.code,
            "state": str(_("Given") if s.granted else _("Withdrawn")), "changed_at": s.changed_at,
            "receipt": str(s.last_event.receipt_id)}


def _event_row(e: ConsentEvent) -> dict:
    try:
        personal = e.personal
    except ObjectDoesNotExist:  # erased: the event stays as proof, its personal values are gone
        personal = None
    return {"receipt": str(e.receipt_id), "sequence": e.sequence, "purpose": e.purpose.title,
            "action": e.get_action_display(), "channel": e.get_channel_display(),
            "policy_version": e.policy_version.label if e.policy_version else "", "occurred_at": e.occurred_at,
            "recorded_at": e.recorded_at, "recorded_by_staff": e.recorded_by_id is not None,
            "ip_address": personal.ip_address if personal else None,
            "user_agent": personal.user_agent if personal else "", "reason": personal.reason if personal else "",
            "evidence_reference": personal.evidence_reference if personal else ""}


def _country(code: str) -> str:
    return str(countries.name(code)) or code if code else ""


def _transfer(r) -> str:
    """Whether the data went abroad from where it is stored and under which mechanism (PIPL Art. 38-39)."""
    mechanism = transfer_mechanism_label(r.transfer_mechanism)
    if mechanism:
        return str(_("Abroad, under: %(mechanism)s") % {"mechanism": mechanism})
    if r.recipient_country and is_abroad(r.recipient_country):
        return str(_("Abroad"))
    return str(_("Not abroad"))


def _sharing_row(r) -> dict:
    # "Processor" for the e-mail and SMS providers (issue #18): they act on our instructions, not for themselves.
    return {"recipient": r.recipient_name, "recipient_kind": r.affiliate.get_kind_display() if r.affiliate else "",
            "recipient_country": _country(r.recipient_country), "purpose": r.purpose.title,
            "data": _data_labels(r.fields), "shared_at": r.shared_at, "transfer": _transfer(r)}


def _disclosures(client: Client) -> QuerySet:
    """Disclosures to authorities that gave out data about this client, once no written requirement withholds them
    (REQUIREMENTS §3: hidden from the client until the stated date)."""
    today = timezone.localdate()
    return (DisclosureSubject.objects.filter(client=client, disclosure__disclosed_at__isnull=False,
                                             disclosure__status__in=[Disclosure.Status.DISCLOSED,
                                                                     Disclosure.Status.PARTIALLY_DISCLOSED])
            .filter(Q(disclosure__withhold_until__isnull=True) | Q(disclosure__withhold_until__lte=today))
            .exclude(categories_disclosed=[])
            .select_related("disclosure").order_by("-disclosure__disclosed_at", "-pk"))


def _disclosure_row(s: DisclosureSubject) -> dict:
    d = s.disclosure
    return {"authority": d.authority_name, "authority_country": _country(d.authority_country),
            "authority_kind": d.get_authority_kind_display(), "request_type": d.get_request_type_display(),
            "legal_basis": d.get_legal_basis_display(), "disclosed_at": d.disclosed_at,
            "data": _data_labels(s.categories_disclosed)}


def _transfers(client: Client) -> QuerySet:
    """Business transfers announced to the client (never drafts), with the client's objection if any."""
    objection = TransferObjection.objects.filter(transfer_id=OuterRef("transfer_id"), client=client)
    return transfer_subjects_of_client(client=client).annotate(
        objection_on=Subquery(objection.values("received_on")[:1]),
        objection_channel=Subquery(objection.values("channel")[:1]))


def _transfer_row(s) -> dict:
    t = s.transfer
    return {"acquirer": t.acquirer_name, "acquirer_country": _country(t.acquirer_country), "kind": t.get_kind_display(),
            "data": _data_labels(t.data_categories), "announced_at": t.published_at,
            "objection_deadline": t.objection_deadline, "handover_on": t.handover_on,
            "objected_on": s.objection_on,
            "objected_by": _label(TransferObjection.Channel, s.objection_channel) if s.objection_channel else "",
            "handed_over_at": s.handed_over_at}


def _breaches(client: Client) -> QuerySet:
    """Security incidents that concerned the client, once the client was told of them (GDPR Art. 34)."""
    return (BreachSubject.objects.filter(client=client, notified_at__isnull=False).select_related("breach")
            .order_by("-notified_at", "-pk"))


def _breach_row(s: BreachSubject) -> dict:
    b, language = s.breach, translation.get_language() or "en"
    return {"reference": f"BR-{b.pk:04d}", "discovered_at": b.discovered_at,
            "what_happened": breach_text(b, "nature", language), "data": _data_labels(s.categories),
            "measures": breach_text(b, "measures", language), "what_you_can_do": breach_text(b, "client_advice", language),
            "contact": b.dpo_contact, "told_at": s.notified_at}


def _withdrawal_row(n: WithdrawalNotice) -> dict:
    return {"recipient": n.affiliate.name, "purpose": n.purpose.title, "reason": n.get_reason_display(),
            "told_at": n.occurred_at, "confirmed_deleted_at": n.acknowledged_at}


def _engagement_row(e: PartnerEngagement) -> dict:
    return {"partner": e.affiliate.name, "order_reference": e.order_reference, "started_at": e.started_at,
            "ended_at": e.ended_at}


def _message_row(m: OutboundMessage) -> dict:
    return {"sent_at": m.finished_at or m.created_at, "channel": m.get_channel_display(), "kind": m.kind, "to": m.to,
            "subject": m.subject, "status": m.get_status_display()}


def _notice_row(d: NoticeDelivery) -> dict:
    return {"policy_version": d.version.label, "kind": d.get_kind_display(), "channel": d.get_channel_display(),
            "status": d.get_status_display(), "created_at": d.created_at, "sent_at": d.sent_at}


def _request_agent(r: DataSubjectRequest) -> str:
    try:
        return r.agent.agent_name
    except AuthorisedAgent.DoesNotExist:
        return ""


def _request_row(r: DataSubjectRequest) -> dict:
    return {"reference": str(r.public_id), "agent": _request_agent(r), "kind": r.get_kind_display(),
            "channel": r.get_channel_display(),
            "status": r.get_status_display(), "received_at": r.received_at, "due_on": r.effective_due_on,
            "acknowledged_at": r.acknowledged_at, "days_paused": r.days_paused or 0, "completed_at": r.completed_at,
            "outcome": r.outcome, "refusal_reason": r.refusal_reason}


def _appeal_row(a: RequestAppeal) -> dict:
    return {"request": str(a.request.public_id), "received_at": a.received_at, "grounds": a.grounds, "due_on": a.due_on,
            "status": a.get_status_display(), "decided_at": a.decided_at, "decision_reason": a.decision_reason}


def _thread(client: Client) -> QuerySet:
    return (RequestMessage.objects.filter(request__client=client).exclude(direction=RequestMessage.Direction.NOTE)
            .select_related("request").order_by("-at", "-pk"))


def _thread_row(m: RequestMessage) -> dict:
    return {"request": str(m.request.public_id), "request_kind": m.request.get_kind_display(),
            "direction": m.get_direction_display(), "at": m.at, "text": m.body}


def _export_row(e: DataExport) -> dict:
    return {"reference": str(e.public_id), "status": e.get_status_display(), "asked_at": e.created_at,
            "ready_at": e.ready_at, "link_expires_at": e.expires_at, "size_bytes": e.size, "sha256": e.sha256,
            "downloads": e.downloads}


def _hold_row(h: LegalHold) -> dict:
    return {"reason": hold_reason(h), "keep_until": h.keep_until, "set_at": h.set_at, "released_at": h.released_at}


def _rectification_row(r: Rectification) -> dict:
    field = Client._meta.get_field(r.field).verbose_name if r.field in _CLIENT_FIELDS else r.field
    return {"field": capfirst(field), "corrected_at": r.at}


_CLIENT_FIELDS = {f.name for f in Client._meta.concrete_fields}


def _email_change_row(r: EmailChangeRequest) -> dict:
    return {"new_email": r.new_email, "status": r.get_state_display(), "asked_at": r.started_at,
            "asked_by_staff": r.started_by.is_staff, "link_expires_at": r.expires_at, "closed_at": r.closed_at}


def _staff_access_row(month: dict) -> dict:
    return {"month": formats.date_format(month["month"], "YEAR_MONTH_FORMAT"), "looked_at": month["looked_at"],
            "changed": month["changed"], "exported": month["exported"], "last_at": month["last_at"]}


CATEGORIES: tuple[Category, ...] = (
    Category(
        code="identity", title=_("About you"), single=True,
        purpose=_("To know who you are, run your account and contact you about your shipments."),
        purpose_codes=("identification", "customer-service", "service-updates"),
        legal_basis=LegalBasis.CONTRACT, retention=_ACCOUNT_RETENTION, models=("accounts.Client", "accounts.User"),
        columns=(("reference", _("Client reference")), ("full_name", _("Full name")), ("email", _("Email")),
                 ("phone", _("Mobile phone")), ("country", _("Country of residence")),
                 ("region", _("State or province")), ("jurisdiction", _("Privacy law that applies")),
                 ("preferred_language", _("Preferred language")), ("client_since", _("Client since")),
                 ("updated_at", _("Last changed")), ("login_email", _("Login email")),
                 ("last_login", _("Last log-in")), ("login_created", _("Login created"))),
        read=_identity, row=_identity_row, empty=_("We hold no identity data about you."),
        note=_("Your password is stored only as a one-way hash that nobody can read, so it is not shown or exported."),
    ),
    Category(
        code="addresses", title=_("Shipping addresses"),
        purpose=_("To ship your goods to your residential or office address."), purpose_codes=("order-fulfilment",),
        legal_basis=LegalBasis.CONTRACT, retention=_ACCOUNT_RETENTION, models=("accounts.Address",),
        columns=(("kind", _("Kind")), ("line1", _("Address line 1")), ("line2", _("Address line 2")),
                 ("city", _("City")), ("region", _("State or province")), ("postcode", _("Postcode")),
                 ("country", _("Country")), ("added_at", _("Added"))),
        read=lambda c: Address.objects.filter(client=c).order_by("kind", "pk"), row=_address_row,
        empty=_("No address on file yet. Addresses are added when you ship with us."),
    ),
    Category(
        code="ip_addresses", title=_("IP addresses we have seen"),
        purpose=_("To recognise you when you log in, protect your account and, with your consent, for promotional "
                  "sharing."), purpose_codes=("identification", "promotional-sharing", "terms-enforcement"),
        legal_basis=LegalBasis.LEGITIMATE_INTEREST,
        retention=retention_text("ip_addresses"),
        models=("accounts.IPObservation",),
        columns=(("ip_address", _("IP address")), ("first_seen", _("First seen")), ("last_seen", _("Last seen")),
                 ("last_seen_during", _("Last seen during"))),
        read=lambda c: IPObservation.objects.filter(client=c).order_by("-last_seen", "-pk"), row=_ip_row,
        empty=_("We have not recorded any IP address for you."),
    ),
    Category(
        code="consent_states", title=_("Your consent choices now"),
        purpose=_("To respect what you agreed to: only uses you consented to are allowed."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_consent_retention, models=("consent.ConsentState",),
        columns=(("purpose", _("Use of your data")), ("purpose_code", _("Code")), ("state", _("Consent")),
                 ("changed_at", _("Since")), ("receipt", _("Receipt"))),
        read=lambda c: (ConsentState.objects.filter(client=c).select_related("purpose", "last_event")
                        .order_by("purpose__display_order", "purpose__code")),
        row=_state_row, empty=_("You have not been asked for any consent yet."),
    ),
    Category(
        code="consent_history", title=_("Consent history"),
        purpose=_("To prove who consented to what, when, how and under which policy version (GDPR Art. 7(1))."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_consent_retention,
        models=("consent.ConsentEvent", "consent.ConsentEventPersonalData"),
        columns=(("receipt", _("Receipt")), ("sequence", _("Number")), ("purpose", _("Use of your data")),
                 ("action", _("Change")), ("channel", _("Channel")), ("policy_version", _("Policy version")),
                 ("occurred_at", _("When")), ("recorded_at", _("Recorded")),
                 ("recorded_by_staff", _("Recorded by our staff")), ("ip_address", _("IP address")),
                 ("user_agent", _("Browser")), ("reason", _("Reason given")),
                 ("evidence_reference", _("Evidence reference"))),
        read=lambda c: (ConsentEvent.objects.filter(client=c).select_related("purpose", "policy_version", "personal")
                        .order_by("-sequence")),
        row=_event_row, empty=_("No consent recorded yet."),
        note=_("Documents you sent us as evidence (letters, e-mails) are kept with the event; ask us for a copy."),
    ),
    Category(
        code="sharing_records", title=_("Who received your data"),
        purpose=_("To show and prove every time your data left Fulfillmen: who, where, for what and which data."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_LEDGER_RETENTION, models=("sharing.SharingRecord",),
        columns=(("recipient", _("Recipient")), ("recipient_kind", _("Kind of recipient")),
                 ("recipient_country", _("Country")), ("purpose", _("Purpose")),
                 ("data", _("Data received")), ("shared_at", _("When")), ("transfer", _("Transfer abroad"))),
        read=lambda c: sharing_records_of_client(client=c).select_related("affiliate"), row=_sharing_row,
        empty=_("Nobody outside Fulfillmen has received your data yet."),
    ),
    Category(
        code="disclosures", title=_("Disclosures to authorities"),
        purpose=_("To record every time we handed over your data to an authority, a court or a party to a claim, and "
                  "on which legal basis."),
        purpose_codes=("legal-obligation", "legal-claims", "vital-interests"), legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=_LEDGER_RETENTION, models=("disclosures.DisclosureSubject",),
        columns=(("authority", _("Authority")), ("authority_country", _("Country")), ("authority_kind", _("Kind")),
                 ("request_type", _("Type of request")), ("legal_basis", _("Legal basis")), ("disclosed_at", _("Disclosed")),
                 ("data", _("Data disclosed"))),
        read=_disclosures, row=_disclosure_row, empty=_("No authority has received your data."),
        note=_("When the law obliges us to keep a request secret for a time, it appears here on the day that ends."),
    ),
    Category(
        code="business_transfers", title=_("Business transfers"),
        purpose=_("To tell you before your data goes to a company taking over part of our business, and to respect "
                  "your objection (PIPL Art. 22)."),
        purpose_codes=("business-transfer",), legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_LEDGER_RETENTION,
        models=("transfers.TransferSubject", "transfers.TransferObjection"),
        columns=(("acquirer", _("Company")), ("acquirer_country", _("Country")), ("kind", _("Kind")),
                 ("data", _("Data concerned")), ("announced_at", _("Announced")),
                 ("objection_deadline", _("Objection deadline")), ("handover_on", _("Date of handover")),
                 ("objected_on", _("You objected on")), ("objected_by", _("Objection by")),
                 ("handed_over_at", _("Handed over"))),
        read=_transfers, row=_transfer_row, empty=_("No business transfer concerns your data."),
        note=_("Once handed over, the acquirer is also listed under “Who received your data”."),
    ),
    Category(
        code="breaches", title=_("Security incidents that concerned you"),
        purpose=_("To tell you of a breach of the security of your personal data and keep the record of it (GDPR "
                  "Art. 33(5), 34; PIPL Art. 57)."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_LEDGER_RETENTION, models=("breaches.BreachSubject",),
        columns=(("reference", _("Reference")), ("discovered_at", _("Discovered")), ("what_happened", _("What happened")),
                 ("data", _("Your data concerned")), ("measures", _("What we did")),
                 ("what_you_can_do", _("What you can do")), ("contact", _("Contact")), ("told_at", _("Told"))),
        read=_breaches, row=_breach_row, empty=_("No security incident has concerned your data."),
        note=_("An incident appears here once we have told you of it."),
    ),
    Category(
        code="withdrawal_notices", title=_("Companies told to delete or update your data"),
        purpose=_("To prove that companies which had your data were told when you withdrew consent, had your data "
                  "erased or corrected it (GDPR Art. 19)."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_LEDGER_RETENTION, models=("sharing.WithdrawalNotice",),
        columns=(("recipient", _("Company")), ("purpose", _("Purpose")), ("reason", _("Why")),
                 ("told_at", _("Told")), ("confirmed_deleted_at", _("Confirmed deleted"))),
        read=lambda c: (WithdrawalNotice.objects.filter(client=c).select_related("affiliate", "purpose")
                        .order_by("-occurred_at", "-pk")),
        row=_withdrawal_row, empty=_("No company has had to be told to delete or update your data."),
    ),
    Category(
        code="partner_engagements", title=_("Orders routed to drop-shipping partners"),
        purpose=_("A drop-shipping partner receives your data only for the orders routed to it, and for a limited "
                  "time after they ended; then it is told to delete it."), purpose_codes=("order-fulfilment",),
        legal_basis=LegalBasis.CONTRACT, retention=_ACCOUNT_RETENTION, models=("sharing.PartnerEngagement",),
        columns=(("partner", _("Partner")), ("order_reference", _("Order reference")), ("started_at", _("Started")),
                 ("ended_at", _("Ended"))),
        read=lambda c: (PartnerEngagement.objects.filter(client=c).select_related("affiliate")
                        .order_by("-started_at", "-pk")),
        row=_engagement_row, empty=_("No order of yours has been routed to a drop-shipping partner."),
    ),
    Category(
        code="messages", title=_("E-mails and text messages we sent you"),
        purpose=_("To prove that receipts, notices and answers reached you."),
        purpose_codes=("service-updates", "customer-service"), legal_basis=LegalBasis.CONTRACT,
        retention=retention_text("messages"), models=("notify.OutboundMessage",),
        columns=(("sent_at", _("When")), ("channel", _("Channel")), ("kind", _("What")), ("to", _("Sent to")),
                 ("subject", _("Subject")), ("status", _("Status"))),
        read=lambda c: OutboundMessage.objects.filter(client=c).order_by("-created_at", "-pk"), row=_message_row,
        empty=_("We have not sent you any message yet."),
        note=_("Message texts are not repeated here; you received them. Password-reset links are wiped once sent."),
    ),
    Category(
        code="policy_notices", title=_("Privacy policy notices"),
        purpose=_("To prove you were told of every change to our privacy policy, by e-mail and SMS (PIPL Art. 17)."),
        purpose_codes=("service-updates",), legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_ACCOUNT_RETENTION,
        models=("amendments.NoticeDelivery",),
        columns=(("policy_version", _("Policy version")), ("kind", _("Notice")), ("channel", _("Channel")),
                 ("status", _("Status")), ("created_at", _("Queued")), ("sent_at", _("Sent"))),
        read=lambda c: NoticeDelivery.objects.filter(client=c).select_related("version").order_by("-created_at", "-pk"),
        row=_notice_row, empty=_("No policy change has been announced to you yet."),
    ),
    Category(
        code="requests", title=_("Requests you made"),
        purpose=_("To answer your requests about your data on time and keep the record the law asks for."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_REQUEST_LOG_RETENTION,
        models=("rights.DataSubjectRequest", "rights.RequestClockPause", "rights.AuthorisedAgent"),
        columns=(("reference", _("Reference")), ("agent", _("Made for you by an authorised agent")),
                 ("kind", _("Request")), ("channel", _("Channel")),
                 ("status", _("Status")), ("received_at", _("Received")), ("acknowledged_at", _("Receipt confirmed")),
                 ("due_on", _("Due")), ("days_paused", _("Days paused for verification")),
                 ("completed_at", _("Answered")), ("outcome", _("Outcome")), ("refusal_reason", _("Reason refused"))),
        read=lambda c: (DataSubjectRequest.objects.filter(client=c).select_related("agent")
                        .annotate(days_paused=Sum("pauses__days_added")).order_by("-received_at", "-pk")),
        row=_request_row, empty=_("You have not made any request yet."),
    ),
    Category(
        code="request_appeals", title=_("Appeals of refused requests"),
        purpose=_("To review a refusal you appealed, by someone other than who refused it, and keep the record."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_REQUEST_LOG_RETENTION, models=("rights.RequestAppeal",),
        columns=(("request", _("Request reference")), ("received_at", _("Received")), ("grounds", _("Your grounds")),
                 ("due_on", _("Due")), ("status", _("Status")), ("decided_at", _("Decided")),
                 ("decision_reason", _("Reasons"))),
        read=lambda c: (RequestAppeal.objects.filter(request__client=c).select_related("request")
                        .order_by("-received_at", "-pk")),
        row=_appeal_row, empty=_("You have not appealed any refusal."),
    ),
    Category(
        code="request_messages", title=_("Messages about your requests"),
        purpose=_("To keep what you wrote to us and what we answered with the request it belongs to."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=_REQUEST_LOG_RETENTION, models=("rights.RequestMessage",),
        columns=(("request", _("Request reference")), ("request_kind", _("Request")), ("direction", _("From")),
                 ("at", _("When")), ("text", _("Message"))),
        read=_thread, row=_thread_row, empty=_("No messages about your requests yet."),
        note=_("Our staff's internal working notes on a request are not included."),
    ),
    Category(
        code="exports", title=_("Exports of your data"),
        purpose=_("To give you a copy of your data and know who downloaded it."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=retention_text("export_files"),
        models=("rights.DataExport",),
        columns=(("reference", _("Reference")), ("status", _("Status")), ("asked_at", _("Asked")),
                 ("ready_at", _("Ready")), ("link_expires_at", _("Link expires")), ("size_bytes", _("Size (bytes)")),
                 ("sha256", _("SHA-256")), ("downloads", _("Downloads"))),
        read=lambda c: DataExport.objects.filter(client=c).order_by("-created_at", "-pk"), row=_export_row,
        empty=_("You have not asked for an export yet."),
    ),
    Category(
        code="legal_holds", title=_("Legal holds"),
        purpose=_("To keep data the law obliges us to keep, for a legal claim or obligation, even if you ask us to "
                  "erase it."), purpose_codes=("legal-obligation", "terms-enforcement"),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=retention_text("released_holds"),
        models=("rights.LegalHold",),
        columns=(("reason", _("Reason")), ("keep_until", _("Kept until")), ("set_at", _("Since")),
                 ("released_at", _("Released"))),
        read=lambda c: LegalHold.objects.filter(client=c).select_related("disclosure").order_by("-set_at", "-pk"),
        row=_hold_row,
        empty=_("No legal hold applies to your data."),
    ),
    Category(
        code="rectifications", title=_("Corrections"),
        purpose=_("To record which of your details were corrected and when."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION, retention=retention_text("rectifications"),
        models=("rights.Rectification",),
        columns=(("field", _("Detail corrected")), ("corrected_at", _("When"))),
        read=lambda c: Rectification.objects.filter(client=c).order_by("-at", "-pk"), row=_rectification_row,
        empty=_("None of your details has been corrected."),
        note=_("Old and new values are kept only as one-way digests, never in clear."),
    ),
    Category(
        code="email_changes", title=_("Changes of your e-mail address"),
        purpose=_("To change the address we write to and you log in with only once the new address confirms it, and "
                  "to know who asked for each change."),
        legal_basis=LegalBasis.CONTRACT, retention=_ACCOUNT_RETENTION, models=("accounts.EmailChangeRequest",),
        columns=(("new_email", _("New e-mail address")), ("status", _("Status")), ("asked_at", _("Asked")),
                 ("asked_by_staff", _("Asked through our staff")), ("link_expires_at", _("Link expires")),
                 ("closed_at", _("Closed"))),
        read=lambda c: EmailChangeRequest.objects.filter(client=c).select_related("started_by")
        .order_by("-started_at", "-pk"),
        row=_email_change_row, empty=_("No change of your e-mail address has been asked for."),
        note=_("The confirmation link is kept only as a one-way digest, so it is not shown."),
    ),
    Category(
        code="staff_access", title=_("Staff access to your record"),
        purpose=_("To keep a record of every time our staff looked at, changed or exported your data, so that "
                  "access can be checked."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        retention=retention_text("staff_access"),
        models=("accounts.StaffAccess",),
        columns=(("month", _("Month")), ("looked_at", _("Times looked at")), ("changed", _("Times changed")),
                 ("exported", _("Times exported")), ("last_at", _("Last access"))),
        read=staff_access_months, row=_staff_access_row, empty=_("Our staff have not accessed your record."),
        note=_("Counted per month. Which member of staff it was is not shown; our privacy officer can tell you why "
               "your record was accessed if you ask."),
    ),
)

BY_CODE = {category.code: category for category in CATEGORIES}

# Models that lead to a client but are deliberately not shown or exported, with the reason.
EXCLUDED: dict[str, str] = {
    "consent.ConsentChain": "The head of the client's consent hash chain (its length and last hash): a technical "
                            "lock and index over the consent history, which is shown and exported in full.",
    "transparency_log.LogLeaf": "The position of a consent event in the public consent log (a number): shown beside "
                                "the event on the history page and in its consent receipt; the log itself holds only "
                                "the event's entry hash, no personal data.",
    "transparency_log.PendingLeaf": "A consent event waiting, for about a minute, to be given its position in the "
                                    "public consent log: a technical queue.",
    "sharing.ProcessorTally": "A running count of the processor records (per processor, purpose and set of fields: "
                              "how many messages, when the last), shown as the \"Processors\" part of \"Who received "
                              "your data\"; the records it counts are exported one by one (sharing records).",
    "webhooks.WebhookEvent": "The message by which a recipient was told of a withdrawal, correction or erasure (or of a "
                             "consent it may know of): the notices themselves, with when each recipient acknowledged "
                             "them, and every value it received (sharing records) are shown and exported.",
    "webhooks.WebhookDelivery": "An attempt schedule of such a message to one endpoint of the recipient (status, "
                                "retries): technical, it holds nothing of the client's but the message's reference.",
    "webhooks.WebhookAttempt": "One try of such a delivery (the recipient's HTTP status, latency, its answer's first "
                               "kilobyte): technical, nothing of the client's.",
}


# --- completeness ---------------------------------------------------------------------------------------------------

def covered_models() -> set[str]:
    return {label for category in CATEGORIES for label in category.models}


def _leads_to(model: type[Model], targets: set) -> bool:
    """Whether a field of `model` (its own or its parents', multi-table inheritance included) points into `targets`."""
    return any(f.is_relation and f.concrete and f.related_model in targets
               for f in model._meta.get_fields(include_parents=True))


def models_holding_client_data(models: Iterable[type[Model]]) -> set[type[Model]]:
    """The client model and every model with a foreign key, one-to-one or many-to-many field to a client — directly,
    or through a model that does (a request's messages, an event's personal values), followed until nothing new
    turns up."""
    models = list(models)
    holding: set[type[Model]] = {Client}
    while True:
        found = {m for m in models if m not in holding and _leads_to(m, holding)}
        if not found:
            return holding
        holding |= found


def uncovered_models(models: Iterable[type[Model]]) -> list[str]:
    """Labels of the models holding client data that neither a category nor EXCLUDED names (should be empty)."""
    known = covered_models() | set(EXCLUDED)
    return sorted(m._meta.label for m in models_holding_client_data(models) if m._meta.label not in known)


def purposes_by_code() -> dict[str, Purpose]:
    """The catalogue entries the categories name, in one query."""
    codes = {code for category in CATEGORIES for code in category.purpose_codes}
    return {p.code: p for p in Purpose.objects.filter(code__in=codes)}


def unknown_labels(models: Iterable[type[Model]]) -> list[str]:
    """Labels named by a category or EXCLUDED that are no model (renamed or removed): the declaration is stale."""
    existing = {m._meta.label for m in models}
    return sorted((covered_models() | set(EXCLUDED)) - existing)
