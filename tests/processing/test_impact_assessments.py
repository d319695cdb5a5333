"""Impact assessments (PIPL Art. 55-56, issue #18.7): required and checked before a recipient is given data or a
sensitive, automated or abroad purpose starts; four eyes; kept unchanged once approved."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from consent.models import Purpose
from consent.services import purpose_save
from processing.models import ImpactAssessment
from processing.services import impact_assessment_approve, impact_assessment_save
from sharing.models import Affiliate, SharingAgreement
from sharing.services import affiliate_save, agreement_create

from .helpers import TEXT, assessment_draft, assessments_approve, assessors

pytestmark = pytest.mark.django_db


MECHANISM = dict(transfer_mechanism=Affiliate.TransferMechanism.PIPL_STANDARD_CONTRACT,
                 transfer_mechanism_reference="CAC-SC-2026-0042")  # abroad (US): PIPL Art. 38


def new_recipient(name="Mailer Inc", kind=Affiliate.Kind.PROCESSOR, **extra):
    return affiliate_save(affiliate=Affiliate(name=name, kind=kind, country="US", contact_name="Desk",
                                              contact_email="desk@mailer.example", **MECHANISM, **extra))


def agree(affiliate, code="marketing-messages", fields=("email",)):
    return agreement_create(affiliate=affiliate, purpose=Purpose.objects.get(code=code), fields=list(fields),
                            valid_from=timezone.now())


def test_recipient_cannot_be_activated_without_an_approved_impact_assessment():
    mailer = new_recipient()
    with pytest.raises(ValidationError, match="No approved impact assessment covers “Mailer Inc”"):
        agree(mailer)
    assessor, approver = assessors()
    draft = assessment_draft(assessor=assessor, recipient=mailer)
    with pytest.raises(ValidationError, match="No approved impact assessment"):  # a draft is no assessment yet
        agree(mailer)
    assert not SharingAgreement.objects.filter(affiliate=mailer).exists()

    impact_assessment_approve(assessment=draft, approver=approver)
    agree(mailer)

    # Switched off, then on again: the same check, and a review date passed refuses it.
    mailer.active = False
    affiliate_save(affiliate=mailer)
    with time_travel(days=400):
        mailer.active = True
        with pytest.raises(ValidationError, match="was due for review on"):
            affiliate_save(affiliate=mailer)
        assert not Affiliate.objects.get(pk=mailer.pk).active
        assessments_approve(recipient=mailer)
        affiliate_save(affiliate=mailer)
    assert Affiliate.objects.get(pk=mailer.pk).active


def time_travel(*, days):
    import time_machine

    return time_machine.travel(timezone.now() + timedelta(days=days), tick=False)


def test_a_purpose_abroad_needs_its_own_assessment_besides_the_recipients():
    mailer = new_recipient(kind=Affiliate.Kind.AFFILIATED_COMPANY)  # the kind promotional sharing gives data to
    assessments_approve(recipient=mailer)
    promotional = Purpose.objects.get(code="promotional-sharing")
    with pytest.raises(ValidationError, match=f"No approved impact assessment covers “{promotional.title_en}”"):
        agree(mailer, "promotional-sharing")
    assessments_approve(purpose=Purpose.objects.get(code="promotional-sharing"))
    agree(mailer, "promotional-sharing")


def test_a_purpose_cannot_become_sensitive_automated_or_abroad_without_an_approved_assessment():
    marketing = Purpose.objects.get(code="marketing-messages")
    for flag in ("sensitive_data", "automated_decision", "transfer_outside_china"):
        marketing.refresh_from_db()
        setattr(marketing, flag, True)
        with pytest.raises(ValidationError, match="No approved impact assessment covers"):
            purpose_save(purpose=marketing)
        marketing.refresh_from_db()
        assert not getattr(marketing, flag)
    assessments_approve(purpose=marketing)  # not required yet, so the helper records none
    assert not ImpactAssessment.objects.filter(purpose=marketing).exists()
    assessor, approver = assessors()
    impact_assessment_approve(assessment=assessment_draft(assessor=assessor, purpose=marketing), approver=approver)
    marketing.automated_decision = True
    purpose_save(purpose=marketing)
    marketing.title_en = "Offers, decided by a model"  # already flagged: editing its texts needs nothing new
    purpose_save(purpose=marketing)
    assert Purpose.objects.get(pk=marketing.pk).automated_decision


def test_assessor_cannot_approve_their_own_assessment(client):
    mailer = new_recipient()
    assessor, approver = assessors()
    draft = assessment_draft(assessor=assessor, recipient=mailer)
    with pytest.raises(ValidationError, match="Four eyes"):
        impact_assessment_approve(assessment=draft, approver=assessor)
    client.force_login(assessor)
    url = reverse("admin:processing_impactassessment_approve", args=[draft.pk])
    response = client.post(url)
    assert response.status_code == 400 and "whoever wrote an impact assessment cannot approve it" in response.content.decode()
    # The approver edits the draft: now they are its assessor, and the first author may approve it.
    draft.conclusion = "Acceptable, with encryption of the export."
    impact_assessment_save(assessment=draft, actor=approver)
    with pytest.raises(ValidationError, match="Four eyes"):
        impact_assessment_approve(assessment=draft, approver=approver)
    assert client.post(url).status_code == 302
    draft.refresh_from_db()
    assert (draft.assessed_by, draft.approved_by) == (approver, assessor) and draft.approved_at is not None
    # Even past the service, the database holds the rule.
    with pytest.raises(IntegrityError), transaction.atomic():
        ImpactAssessment.objects.create(recipient=mailer, **TEXT, assessed_by=assessor, approved_by=assessor,
                                        approved_at=timezone.now(), review_due=timezone.localdate() + timedelta(days=9))


def test_support_agents_and_legal_cannot_write_assessments_and_legal_may_approve(client, support_agent, legal_user):
    mailer = new_recipient()
    assessor, _ = assessors()
    draft = assessment_draft(assessor=assessor, recipient=mailer)
    approve = reverse("admin:processing_impactassessment_approve", args=[draft.pk])
    client.force_login(support_agent)
    for url in (reverse("admin:processing_impactassessment_changelist"), approve):
        assert client.get(url).status_code == 403
    assert client.post(approve).status_code == 403
    client.force_login(legal_user)
    assert client.get(reverse("admin:processing_impactassessment_add")).status_code == 403
    assert client.post(approve).status_code == 302
    assert ImpactAssessment.objects.get(pk=draft.pk).approved_by == legal_user


def test_privacy_officer_writes_an_assessment_in_the_admin_and_another_approves_it(client, privacy_officer):
    mailer = new_recipient()
    add = reverse("admin:processing_impactassessment_add")
    client.force_login(privacy_officer)
    form = {"recipient": mailer.pk, **TEXT, "review_due": (timezone.localdate() + timedelta(days=365)).isoformat()}
    both = client.post(add, {**form, "purpose": Purpose.objects.get(code="marketing-messages").pk})
    assert both.status_code == 200 and "covers either one purpose or one recipient" in both.content.decode()
    past = client.post(add, {**form, "review_due": timezone.localdate().isoformat()})
    assert past.status_code == 200 and "The review date must be in the future." in past.content.decode()
    assert not ImpactAssessment.objects.exists()
    assert client.post(add, form).status_code == 302
    draft = ImpactAssessment.objects.get()
    assert draft.assessed_by == privacy_officer and not draft.approved

    # The affiliate's page refuses its first agreement until then, next to the agreement.
    agreement = {"affiliate": mailer.pk, "purpose": Purpose.objects.get(code="marketing-messages").pk,
                 "shared_fields": ["email"], "valid_from_0": "2026-01-01", "valid_from_1": "00:00:00",
                 "valid_until_0": "", "valid_until_1": "", "reference": "DPA-1"}
    affiliate_page = {"name": mailer.name, "kind": mailer.kind, "country": "US", "contact_name": "Desk",
                      "contact_email": "desk@mailer.example", "active": "on", **MECHANISM, "agreements-TOTAL_FORMS": "1",
                      "agreements-INITIAL_FORMS": "0", "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0",
                      **{f"agreements-0-{k}": v for k, v in agreement.items()}}
    affiliate_change = reverse("admin:sharing_affiliate_change", args=[mailer.pk])
    refused = client.post(affiliate_change, affiliate_page)
    assert refused.status_code == 200 and "No approved impact assessment covers “Mailer Inc”" in refused.content.decode()
    assert not SharingAgreement.objects.filter(affiliate=mailer).exists()
    _, approver = assessors()
    client.force_login(approver)
    assert client.post(reverse("admin:processing_impactassessment_approve", args=[draft.pk])).status_code == 302
    change = reverse("admin:processing_impactassessment_change", args=[draft.pk])
    page = client.get(change)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(change, form).status_code == 403
    assert client.post(affiliate_change, affiliate_page).status_code == 302
    assert SharingAgreement.objects.get(affiliate=mailer).reference == "DPA-1"


def test_reactivating_a_recipient_in_the_admin_shows_the_refusal_next_to_active(client, privacy_officer):
    mailer = new_recipient(active=False)
    client.force_login(privacy_officer)
    data = {"name": mailer.name, "kind": mailer.kind, "country": "US", "contact_name": "Desk",
            "contact_email": "desk@mailer.example", "active": "on", **MECHANISM,
            "agreements-TOTAL_FORMS": "0", "agreements-INITIAL_FORMS": "0", "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0"}
    response = client.post(reverse("admin:sharing_affiliate_change", args=[mailer.pk]), data)
    assert response.status_code == 200 and "No approved impact assessment covers “Mailer Inc”" in response.content.decode()
    assert not Affiliate.objects.get(pk=mailer.pk).active
    assessments_approve(recipient=mailer)
    assert client.post(reverse("admin:sharing_affiliate_change", args=[mailer.pk]), data).status_code == 302
    assert Affiliate.objects.get(pk=mailer.pk).active


def test_an_approved_assessment_is_kept_unchanged_even_by_the_database():
    mailer = new_recipient()
    (approved,) = assessments_approve(recipient=mailer)
    approved.conclusion = "Rewritten afterwards."
    with pytest.raises(ValidationError, match="cannot be changed"):
        impact_assessment_save(assessment=approved, actor=approved.approved_by)
    for attempt in (lambda: ImpactAssessment.objects.filter(pk=approved.pk).update(conclusion="Rewritten."),
                    lambda: ImpactAssessment.objects.filter(pk=approved.pk).delete()):
        with pytest.raises(DatabaseError, match="approved impact assessment is kept unchanged"), transaction.atomic():
            attempt()
    assert ImpactAssessment.objects.get(pk=approved.pk).conclusion == TEXT["conclusion"]
    assert approved.keep_until == approved.approved_at.date().replace(year=approved.approved_at.year + 3)


def test_the_purpose_admin_refuses_a_new_flag_next_to_it_without_an_assessment(client, privacy_officer):
    marketing = Purpose.objects.get(code="marketing-messages")
    change = reverse("admin:consent_purpose_change", args=[marketing.pk])
    data = {k: "" if v is None else v for k, v in model_to_dict(marketing).items()
            if k not in ("id", "code", "legal_basis") and v is not False}
    data.update(data_categories=json.dumps(marketing.data_categories), introduced_in="", sensitive_data="on")
    client.force_login(privacy_officer)
    response = client.post(change, data)
    assert response.status_code == 200 and "No approved impact assessment covers" in response.content.decode()
    assert not Purpose.objects.get(pk=marketing.pk).sensitive_data
    assessor, approver = assessors()
    impact_assessment_approve(assessment=assessment_draft(assessor=assessor, purpose=marketing), approver=approver)
    assert client.post(change, data).status_code == 302
    assert Purpose.objects.get(pk=marketing.pk).sensitive_data
