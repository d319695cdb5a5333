"""“Your data”: every category held about the client, with purpose, legal basis and retention, and only their own."""

import uuid
from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.access_log import staff_access_record
from accounts.models import EmailChangeRequest
from accounts.services import address_add, ip_observation_record, staff_user_ensure
from amendments.models import NoticeDelivery, PolicyVersion
from breaches.models import BreachSubject
from breaches.services import breach_record
from consent.models import Channel, Purpose
from consent.services import consent_receipt_send, consent_record
from disclosures.services import disclosure_approve, disclosure_mark_disclosed, disclosure_record, disclosure_submit_for_review
from rights.inventory import CATEGORIES
from rights.models import DataExport, LegalHold, Rectification, RequestAppeal, RequestMessage
from rights.services import request_open
from rights.views.data import SHOWN_PER_CATEGORY
from sharing.engagements import engagement_record
from sharing.models import Affiliate, PartnerEngagement
from sharing.services import agreement_create, sharing_records_write
from tests.conftest import PASSWORD
from tests.processing.helpers import assessments_approve
from tests.sharing.conftest import recipient_purpose
from tests.transfers.conftest import acquirer_recipient
from transfers.services import transfer_objection_record, transfer_publish, transfer_record

pytestmark = pytest.mark.django_db
YOUR_DATA = reverse("rights:data")


# --- a client with history, built through the real services (plain rows only where no service exists) -------------

def staff(email, group):
    return staff_user_ensure(email=email, password=PASSWORD, groups=[group])


def affiliate(name="Ads Network"):
    found = Affiliate.objects.filter(name=name).first()
    if found:
        return found
    made = Affiliate.objects.create(name=name, kind=Affiliate.Kind.AFFILIATED_COMPANY, country="HK",
                                    contact_name="Contact", contact_email="contact@ads.example",
                                    transfer_mechanism=Affiliate.TransferMechanism.PIPL_STANDARD_CONTRACT,
                                    transfer_mechanism_reference="SC-ADS-1")  # HK is abroad (PIPL Art. 38)
    promotional = Purpose.objects.get(code="promotional-sharing")
    assessments_approve(recipient=made, purpose=promotional)  # PIPL Art. 55: before its first agreement
    agreement_create(affiliate=made, purpose=promotional, fields=["email", "ip_address"],
                     valid_from=timezone.now() - timedelta(days=30))
    return made


def disclose(client, *, authority="Shenzhen Public Security Bureau", withhold_until=None):
    legal, legal2 = staff("legal@example.com", "Legal"), staff("legal2@example.com", "Legal")
    disclosure = disclosure_record(recorded_by=legal, clients=[client], authority_name=authority, authority_country="CN",
                                   authority_kind="police", request_type="warrant", reference_number="SZ-2026-0042",
                                   received_on=date(2026, 11, 20), categories_requested=["name", "phone"],
                                   withhold_until=withhold_until,
                                   withhold_reference="Court order 2026/881" if withhold_until else "")
    disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
    disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid warrant")
    return disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={client.pk: ["name", "phone"]})


def announce_transfer(client):
    """A business transfer announced to the clients of the client's country, which the client objects to."""
    officer, legal = staff("privacy@example.com", "Privacy officers"), staff("legal@example.com", "Legal")
    transfer = transfer_record(recorded_by=officer, kind="acquisition", acquirer_name="Harbour Logistics",
                               affiliate=acquirer_recipient("Harbour Logistics"),  # abroad: recorded first (Art. 38, 55)
                               acquirer_contact_name="Mei Chan", acquirer_contact_email="privacy@harbour.example",
                               acquirer_address="1 Harbour Road", acquirer_country="HK", data_categories=["name"],
                               scope_countries=[client.country.code],
                               objection_deadline=timezone.localdate() + timedelta(days=30),
                               handover_on=timezone.localdate() + timedelta(days=31))
    transfer = transfer_publish(transfer=transfer, approver=legal)
    return transfer_objection_record(transfer=transfer, client=client, channel="portal")


def partner(name="Dropship Partner"):
    found = Affiliate.objects.filter(name=name).first()
    if found:
        return found
    made = Affiliate.objects.create(name=name, kind=Affiliate.Kind.DROPSHIP_PARTNER, country="CN",
                                    contact_name="Contact", contact_email="contact@dropship.example")
    fulfilment = Purpose.objects.get(code="order-fulfilment")
    assessments_approve(recipient=made, purpose=fulfilment)  # PIPL Art. 55: before its first agreement
    agreement_create(affiliate=made, purpose=fulfilment, fields=["name", "phone"],
                     valid_from=timezone.now() - timedelta(days=30))
    return made


def give_history(client, *, times=1, disclosures=True):
    """`times` of everything that grows with a client's history: addresses, IPs, consent changes (with receipts and
    withdrawal notices), sharing records, messages, policy notices, requests and their threads, exports, holds,
    corrections and e-mail changes; and one disclosure."""
    ads, officer = affiliate(), staff("privacy@example.com", "Privacy officers")
    promo = Purpose.objects.get(code="promotional-sharing")
    to_ads = recipient_purpose(ads)  # consent is given to each recipient (issue #18)
    for n in range(times):
        address_add(client=client, kind="office", country="DE", line1=f"Hauptstraße {n + 1}", city="Berlin", postcode="10115")
        ip_observation_record(client=client, ip_address=f"198.51.100.{n + 1}", context="login")
        granted, _ = consent_record(client=client, purpose=to_ads, action="grant", channel=Channel.PORTAL,
                                    ip_address="198.51.100.1", user_agent="Firefox/140")
        consent_receipt_send(event=granted)
        sharing_records_write(affiliate=ads, purpose=promo, fields=["email", "ip_address"], client_ids=[client.pk],
                              api_key=None, request_id=uuid.uuid4(), at=timezone.now())
        consent_record(client=client, purpose=to_ads, action="withdraw", channel=Channel.PORTAL, reason="Too many ads")
        version = PolicyVersion.objects.get_or_create(label=f"9.{n}", defaults={"body_en": "Policy text."})[0]
        NoticeDelivery.objects.get_or_create(version=version, client=client, channel="email", kind="notice",
                                             defaults={"status": "sent", "created_at": timezone.now(),
                                                       "sent_at": timezone.now()})
        request = request_open(kind="question", channel="portal", client=client, details=f"What do you keep? ({n})")
        RequestMessage.objects.create(request=request, direction="out", author=officer, body=f"Here is the answer ({n}).")
        RequestMessage.objects.create(request=request, direction="note", author=officer, body="INTERNAL: checked ID")
        export_request = request_open(kind="export", channel="portal", client=client)
        DataExport.objects.create(request=export_request, client=client, status="failed")
        LegalHold.objects.create(client=client, reason=f"Customs investigation {n}", set_by=officer)
        refused = request_open(kind="access", channel="portal", client=client, status="refused")
        RequestAppeal.objects.create(request=refused, channel="portal", grounds=f"Please look again ({n}).",
                                     received_at=timezone.now(), due_on=timezone.localdate(), refused_by=officer)
        Rectification.objects.create(client=client, field="phone", old_digest="a" * 64, new_digest="b" * 64, request=request)
        EmailChangeRequest.objects.create(client=client, new_email=f"asked{n}@example.org", started_by=officer,
                                          expires_at=timezone.now() + timedelta(hours=48),
                                          status=EmailChangeRequest.Status.REPLACED)
        staff_access_record(staff=officer, client_ids=[client.pk], action="view-detail", path="/admin/")
        breach = breach_record(recorded_by=officer, title=f"Incident {n}", discovered_at=timezone.now(),
                               categories=["email"], nature="A stolen laptop.", consequences="Phishing.",
                               measures="Passwords reset.", dpo_contact="DPO, dpo@example.com")
        BreachSubject.objects.create(breach=breach, client=client, categories=["email"], selected_at=timezone.now(),
                                     notified_at=timezone.now())  # as the approved client notice leaves it
        engagement_record(affiliate=partner(), client=client, order_reference=f"SO-{client.pk}-{n}",
                          started_at=client.created_at, source=PartnerEngagement.Source.ADMIN)
    if disclosures:
        disclose(client)
        announce_transfer(client)
    return client


def page(client, owner):
    client.force_login(owner.user)
    response = client.get(YOUR_DATA)
    assert response.status_code == 200
    return response


# --- tests ------------------------------------------------------------------------------------------------------

def test_every_category_is_shown_with_its_purpose_legal_basis_and_retention_for_a_client_with_history(client, owner):
    give_history(owner)
    response = page(client, owner)
    sections = {s.category.code: s for s in response.context["sections"]}
    assert list(sections) == [c.code for c in CATEGORIES]
    assert [code for code, s in sections.items() if s.total == 0] == []
    html = response.content.decode()
    for category in CATEGORIES:
        assert f'id="{category.code}"' in html
        for text in (category.title, category.purpose, category.retention, category.legal_basis_label):
            assert str(text) in html
    for held in ("Owner Client", "owner@example.com", "Hauptstraße 1", "198.51.100.1", "Too many ads", "Firefox/140",
                 "Ads Network", "Shenzhen Public Security Bureau", "Warrant", "consent-receipt", "9.0",
                 "What do you keep? (0)", "Here is the answer (0).", "Customs investigation 0", "Mobile phone"):
        assert held in html, held
    assert "INTERNAL: checked ID" not in html  # staff working notes are not part of the client's view


def test_a_new_client_sees_helpful_empty_states_and_what_they_can_do(client, owner):
    html = page(client, owner).content.decode()
    assert "Nobody outside Fulfillmen has received your data yet." in html
    assert "You have not made any request yet." in html and "No legal hold applies to your data." in html
    assert reverse("rights:export") in html and 'href="#requests"' in html


def test_the_portal_navigation_links_to_your_data(client, owner):
    client.force_login(owner.user)
    html = client.get(reverse("consent:choices")).content.decode()
    assert f'href="{YOUR_DATA}"' in html
    assert f'href="{YOUR_DATA}" aria-current="page"' in page(client, owner).content.decode()


def test_an_outsider_sees_none_of_the_owners_data(client, owner, outsider):
    give_history(owner)
    html = page(client, outsider).content.decode()
    for secret in ("Owner Client", "owner@example.com", "Hauptstraße", "198.51.100.", "Too many ads",
                   "Shenzhen Public Security Bureau", "What do you keep?", "Customs investigation"):
        assert secret not in html, secret
    # The recipient is named to every client (each has a consent to it); what it received of the owner is not shown.
    assert "Email address, IP address" not in html and "Companies told to delete" in html
    assert "Outside Person" in html


def test_an_outsider_cannot_page_through_the_owners_categories(client, owner, outsider):
    give_history(owner, times=SHOWN_PER_CATEGORY + 1, disclosures=False)
    client.force_login(outsider.user)
    for code in ("addresses", "consent_history", "requests"):
        html = client.get(reverse("rights:data_category", args=[code])).content.decode()
        assert "Hauptstraße" not in html and "What do you keep?" not in html and "Too many ads" not in html


def test_anonymous_visitors_are_sent_to_log_in_and_staff_to_the_admin(client, support_agent):
    response = client.get(YOUR_DATA)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(support_agent)
    assert client.get(YOUR_DATA)["Location"] == reverse("admin:index")


@time_machine.travel("2026-11-25 09:00 +0800", tick=False)
def test_a_withheld_disclosure_is_not_shown_until_its_date_and_a_revealed_one_is(client, owner):
    disclose(owner, authority="Beijing Customs Court", withhold_until=date(2027, 1, 15))
    disclose(owner, authority="Shenzhen Public Security Bureau")
    section = next(s for s in page(client, owner).context["sections"] if s.category.code == "disclosures")
    html = page(client, owner).content.decode()
    assert section.total == 1 and "Shenzhen Public Security Bureau" in html
    assert "Beijing Customs Court" not in html  # neither as a disclosure nor as a sharing record
    with time_machine.travel("2027-01-15 08:00 +0800", tick=False):
        html = page(client, owner).content.decode()
        assert "Beijing Customs Court" in html


def test_long_lists_show_the_newest_rows_with_the_count_and_continue_on_a_paginated_page(client, owner):
    give_history(owner, times=SHOWN_PER_CATEGORY + 2, disclosures=False)
    response = page(client, owner)
    addresses = next(s for s in response.context["sections"] if s.category.code == "addresses")
    assert (len(addresses.rows), addresses.total) == (SHOWN_PER_CATEGORY, SHOWN_PER_CATEGORY + 2)
    html = response.content.decode()
    assert f"Showing the newest {SHOWN_PER_CATEGORY} of {SHOWN_PER_CATEGORY + 2}." in html
    everything = client.get(reverse("rights:data_category", args=["addresses"]))
    assert everything.status_code == 200 and len(everything.context["section"].rows) == SHOWN_PER_CATEGORY + 2
    assert client.get(reverse("rights:data_category", args=["no-such-thing"])).status_code == 404


def test_the_page_costs_the_same_number_of_queries_for_a_short_or_a_long_history(client, owner):
    client.force_login(owner.user)
    give_history(owner, times=1)
    client.get(YOUR_DATA)  # warm caches (content types, sessions) out of the measurement
    with CaptureQueriesContext(connection) as short:
        assert client.get(YOUR_DATA).status_code == 200
    give_history(owner, times=SHOWN_PER_CATEGORY + 5)
    with CaptureQueriesContext(connection) as long:
        assert client.get(YOUR_DATA).status_code == 200
    assert len(long) == len(short), [q["sql"][:120] for q in long.captured_queries]
    assert len(short) <= len(CATEGORIES) + 8
