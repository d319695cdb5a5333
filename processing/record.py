"""The record of processing activities (GDPR Art. 30; PIPL Art. 55-56), read from the live catalogue each time:
the controller and its officer, every purpose, every recipient with its agreements, the transfers out of China,
the retention period of each category of data, the security measures and the impact assessments.

Everything is built in the active language as sections of entries of labelled facts, so the HTML page, the HTML
file and the CSV say exactly the same. Nothing about any client is read, and disclosures to authorities appear only
as the recipient class of the purpose that allows them, never one by one.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_countries import countries

from accounts.jurisdictions import is_abroad, storage_location_label
from consent.models import DataCategory, Purpose
from sharing.models import Affiliate, SharingAgreement

from .retention_source import retention_by_category
from .security import security_measures
from .selectors import CURRENT, MISSING, OVERDUE, AssessmentState, assessment_states


@dataclass
class Fact:
    label: str
    value: str


@dataclass
class Entry:
    reference: str      # stable across languages: a purpose code, a recipient's public id, a category code
    name: str
    facts: list[Fact] = field(default_factory=list)

    def add(self, label, value) -> "Entry":
        self.facts.append(Fact(str(label), "" if value is None else str(value)))
        return self


@dataclass
class Section:
    slug: str
    title: str
    intro: str
    entries: list[Entry]
    empty: str = ""


@dataclass
class ProcessingRecord:
    title: str
    generated_at: datetime
    language: str
    sections: list[Section]


def _yes(value: bool) -> str:
    return _("Yes") if value else _("No")


def _date(value) -> str:
    return formats.date_format(timezone.localtime(value) if isinstance(value, datetime) else value, "DATE_FORMAT")


def _country(code: str) -> str:
    name = countries.name(code) if code else ""
    return f"{name} ({code})" if name else code


def _categories(codes) -> str:
    return ", ".join(str(DataCategory(c).label) for c in codes or [] if c in DataCategory.values)


def _assessment_text(state: AssessmentState, required: bool = True) -> str:
    if state.status == CURRENT:
        a = state.assessment
        return _("Approved on %(approved)s by %(approver)s; review due %(due)s") % {
            "approved": _date(a.approved_at), "approver": a.approved_by, "due": _date(a.review_due)}
    if state.status == OVERDUE:
        return _("Review overdue since %(due)s") % {"due": _date(state.assessment.review_due)}
    return _("Missing: required before it may start (PIPL Art. 55)") if required else _("Not required")


def _open(agreement: SharingAgreement, now) -> bool:
    return agreement.valid_until is None or agreement.valid_until > now


def _controller_section() -> Section:
    c = settings.PII_CONTROLLER
    entry = (Entry("controller", c["name"]).add(_("Legal name"), c["name"]).add(_("Address"), c["address"])
             .add(_("Contact"), c["contact"]).add(_("E-mail"), c["email"]).add(_("Phone"), c.get("phone") or "—")
             .add(_("Person in charge of personal information protection"), c.get("dpo_name", ""))
             .add(_("Their e-mail"), c.get("dpo_email", ""))
             .add(_("Where personal data is stored"), storage_location_label()))
    return Section("controller", _("Controller"), _("Who decides why and how client data is processed, and whom to ask."),
                   [entry])


def _purposes_section(purposes, recipients_by_purpose, states) -> Section:
    entries = []
    for p in purposes:
        names = recipients_by_purpose.get(p.pk, [])
        entries.append(
            Entry(p.code, p.title).add(_("Description"), p.description).add(_("Legal basis"), p.get_legal_basis_display())
            .add(_("Data categories"), ", ".join(str(label) for label in p.data_category_labels()) or "—")
            .add(_("Recipient class"), p.get_recipient_class_display())
            .add(_("Named recipients"), "; ".join(names) or "—")
            .add(_("Transfer outside China"), _yes(p.transfer_outside_china))
            .add(_("Consent can be withdrawn"), _yes(p.withdrawable))
            .add(_("Sensitive personal information"), _yes(p.sensitive_data))
            .add(_("Automated decision-making"), _yes(p.automated_decision))
            .add(_("Impact assessment"), _assessment_text(states.get(("purpose", p.pk), AssessmentState(MISSING)),
                                                          p.impact_assessment_required)))
    return Section("purposes", _("Purposes of processing"),
                   _("Every use of client data the privacy policy names, as the purpose catalogue holds it now."), entries)


def _recipients_section(recipients, states, now) -> Section:
    entries = []
    for r in recipients:
        agreements = [f"{a.purpose.title}: {_categories(a.fields)} ({_('from %(start)s') % {'start': _date(a.valid_from)}}"
                      + (f", {_('until %(end)s') % {'end': _date(a.valid_until)}}" if a.valid_until else "") + ")"
                      for a in r.agreements.all() if _open(a, now)]
        mechanism = r.get_transfer_mechanism_display()
        if r.transfer_mechanism_reference:
            mechanism = f"{mechanism} ({r.transfer_mechanism_reference})"
        entries.append(
            Entry(str(r.public_id), r.name).add(_("Kind"), r.get_kind_display()).add(_("Country"), _country(r.country))
            .add(_("Active"), _yes(r.active)).add(_("Address"), r.address or "—")
            .add(_("Contact"), f"{r.contact_name} <{r.contact_email}>")
            .add(_("How clients exercise their rights against it"), r.rights_contact or "—")
            .add(_("Transfer mechanism"), mechanism)
            .add(_("Agreements in force or to come"), "; ".join(agreements) or "—")
            .add(_("Impact assessment"), _assessment_text(states.get(("recipient", r.pk), AssessmentState(MISSING)))))
    return Section("recipients", _("Recipients"),
                   _("Every company outside Fulfillmen recorded as a recipient of client data: affiliated companies, "
                     "drop-shipping partners, processors and business-transfer counterparties."),
                   entries, empty=_("No recipient is recorded."))


def _transfers_section(recipients, now) -> Section:
    entries = []
    for r in recipients:
        if not is_abroad(r.country):  # Hong Kong, Macao and Taiwan are abroad from mainland China
            continue
        for a in (a for a in r.agreements.all() if _open(a, now)):
            mechanism = r.get_transfer_mechanism_display()
            if r.transfer_mechanism == Affiliate.TransferMechanism.NONE:
                mechanism = _("None recorded")
            entries.append(
                Entry(f"{r.public_id}:{a.purpose.code}", r.name).add(_("Data stored in"), storage_location_label())
                .add(_("Recipient's country or region"), _country(r.country)).add(_("Purpose"), a.purpose.title)
                .add(_("Data categories"), _categories(a.fields)).add(_("Transfer mechanism"), mechanism)
                .add(_("Reference"), r.transfer_mechanism_reference or "—")
                .add(_("Recipient active"), _yes(r.active)))
    return Section("transfers", _("Transfers out of China"),
                   _("Each agreement in force or to come under which a recipient outside mainland China receives data "
                     "stored in China."), entries, empty=_("No recipient outside mainland China has an agreement."))


def _retention_section() -> Section:
    entries = [Entry(row.code, row.title).add(_("Why it is held"), row.purpose).add(_("Legal basis"), row.legal_basis)
               .add(_("Retention"), row.retention) for row in retention_by_category()]
    return Section("retention", _("Retention periods"),
                   _("How long each category of client data is kept, as the client's “Your data” page states it."),
                   entries)


def _security_section() -> Section:
    entries = [Entry(m.code, str(m.title)).add(_("Measure"), m.description)
               .add(_("In force in this installation"), _yes(in_force)) for m, in_force in security_measures()]
    return Section("security", _("Security measures"),
                   _("The technical and organisational measures that protect client data."), entries)


def _assessments_section(states) -> Section:
    entries = []
    for state in sorted(states.values(), key=lambda s: str(s.assessment.covers)):
        a = state.assessment
        kind = _("Purpose") if a.purpose_id else _("Recipient")
        entries.append(
            Entry(str(a.public_id), str(a.covers)).add(_("Covers"), kind)
            .add(_("Status"), _assessment_text(state)).add(_("Assessed by"), a.assessed_by)
            .add(_("Approved by"), a.approved_by).add(_("Kept until at least"), _date(a.keep_until))
            .add(_("Conclusion"), a.conclusion))
    return Section("assessments", _("Impact assessments"),
                   _("The latest approved personal information protection impact assessment of each purpose and "
                     "recipient (PIPL Art. 55-56)."), entries, empty=_("No impact assessment is approved yet."))


def processing_record() -> ProcessingRecord:
    """The record as it stands now, in the active language (a fixed number of queries)."""
    now = timezone.now()
    states = assessment_states()
    purposes = list(Purpose.objects.all())
    agreements = SharingAgreement.objects.select_related("purpose").order_by("purpose__display_order", "valid_from")
    recipients = list(Affiliate.objects.prefetch_related(Prefetch("agreements", queryset=agreements)).order_by("name"))
    recipients_by_purpose: dict[int, list[str]] = {}
    for r in recipients:
        for a in r.agreements.all():
            if _open(a, now) and r.active:
                recipients_by_purpose.setdefault(a.purpose_id, []).append(f"{r.name} ({_country(r.country)})")
    return ProcessingRecord(
        title=_("Record of processing activities"), generated_at=now, language=get_language() or "en",
        sections=[_controller_section(), _purposes_section(purposes, recipients_by_purpose, states),
                  _recipients_section(recipients, states, now), _transfers_section(recipients, now),
                  _retention_section(), _security_section(), _assessments_section(states)])

