"""Issue #16, findings 3 and 4: only Legal (and superusers) know of a disclosure while its notice is withheld.

Support agents and privacy officers find it nowhere in the admin — not in the sharing records, the disclosure queue,
the legal holds, the staff access log, searches, filters, counts or the privacy officer's dashboard and its CSVs —
and the client's own count of staff looks at their record leaves out Legal's looks at it until it is released.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.access_log import staff_access_months, staff_access_summary
from accounts.models import StaffAccess
from accounts.services import staff_user_ensure
from disclosures.services import (
    disclosure_approve,
    disclosure_mark_disclosed,
    disclosure_record,
    disclosure_submit_for_review,
)
from oversight.panels import PANELS
from rights.holds import LEGAL_OBLIGATION_REASON
from rights.models import LegalHold
from rights.services import legal_hold_set
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db

AUTHORITY, REFERENCE = "Secret Investigations Unit", "SIU-2026-77"
SHARING_ADMIN = reverse("admin:sharing_sharingrecord_changelist")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def gagged_request(legal, legal2, client, *, disclosed=True, days=90):
    disclosure = disclosure_record(recorded_by=legal, clients=[client], authority_name=AUTHORITY, authority_country="CN",
                                   authority_kind="police", request_type="warrant", reference_number=REFERENCE,
                                   received_on=timezone.localdate(), categories_requested=["name", "phone"],
                                   withhold_reference="Order 7", withhold_until=timezone.localdate() + timedelta(days=days))
    if disclosed:
        disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
        disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid warrant")
        disclosure = disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={client.pk: ["name"]})
    return disclosure


@pytest.fixture
def staff(legal, legal2, support_agent, privacy_officer):
    superuser = staff_user_ensure(email="root@example.com", password=PASSWORD, groups=[], superuser=True)
    return {"support": support_agent, "privacy": privacy_officer, "legal": legal, "superuser": superuser}


def admin_pages(disclosure, owner):
    hold = LegalHold.objects.filter(disclosure=disclosure).first()
    pages = [SHARING_ADMIN, f"{SHARING_ADMIN}?q={owner.email}", f"{SHARING_ADMIN}?q={owner.public_id}",
             f"{SHARING_ADMIN}?purpose__id__exact={disclosure.pk}",
             reverse("admin:disclosures_disclosure_changelist"),
             reverse("admin:disclosures_disclosure_changelist") + "?q=Secret",
             reverse("admin:rights_legalhold_changelist"), reverse("admin:rights_legalhold_changelist") + "?q=" + owner.email,
             reverse("admin:accounts_staffaccess_changelist"), reverse("admin:accounts_client_change", args=[owner.pk]),
             reverse("oversight:dashboard"), *[reverse("oversight:panel_csv", args=[slug]) for slug in PANELS]]
    if hold is not None:
        pages.append(reverse("admin:rights_legalhold_change", args=[hold.pk]))
    return pages


@pytest.mark.parametrize("role", ["support", "privacy"])
def test_support_agents_and_privacy_officers_find_a_withheld_disclosure_nowhere_in_the_admin(client, staff, legal,
                                                                                              legal2, owner, role):
    disclosure = gagged_request(legal, legal2, owner)
    open_one = gagged_request(legal, legal2, make_client("second@example.com", phone="+49 151 23456780"), disclosed=False)
    client.force_login(staff[role])
    for url in admin_pages(disclosure, owner):
        body = client.get(url).content.decode()
        assert AUTHORITY not in body and REFERENCE not in body and "Other recipients (authorities)" not in body, url
    for pk in (disclosure.pk, open_one.pk):
        change = client.get(reverse("admin:disclosures_disclosure_change", args=[pk]))
        assert change.status_code in (302, 403, 404) and AUTHORITY not in change.content.decode()
    queue = client.get(reverse("admin:disclosures_disclosure_changelist")).content.decode()
    assert f"received_year={timezone.localdate().year}" not in queue, "not even the year filter lists it"
    # The hold it keeps reads like any hold Legal sets (hiding it would betray it next to a refused erasure):
    # the standard wording, no disclosure, no release link — and nobody but Legal releases it.
    held = LegalHold.objects.get(disclosure=open_one)
    hold_page = client.get(reverse("admin:rights_legalhold_change", args=[held.pk])).content.decode()
    if role == "privacy":
        assert str(LEGAL_OBLIGATION_REASON) in hold_page and "legalhold-release-link" not in hold_page
    assert AUTHORITY not in hold_page and REFERENCE not in hold_page
    assert client.post(reverse("admin:rights_legalhold_release", args=[held.pk]),
                       {"release_reason": "curious"}).status_code == 403
    assert LegalHold.objects.get(pk=held.pk).released_at is None


def test_a_hold_set_by_legal_looks_the_same_to_a_privacy_officer_whether_a_disclosure_keeps_it_or_not(
        client, staff, legal, legal2, owner, outsider):
    gagged_request(legal, legal2, owner, disclosed=False)
    legal_hold_set(client=outsider, reason="", keep_until=None, actor=legal)
    client.force_login(staff["privacy"])
    pages = []
    for who in (owner, outsider):
        hold = LegalHold.objects.get(client=who)
        body = client.get(reverse("admin:rights_legalhold_change", args=[hold.pk])).content.decode()
        body = body.replace(who.full_name, "<name>").replace(who.email, "<email>").replace(str(who), "<client>")
        pages.append(re.sub(r"\b\d+\b", "<n>", CSRF.sub("", body)))
    assert pages[0] == pages[1]


def test_the_dashboard_counts_no_withheld_disclosure(client, staff, legal, legal2, owner):
    gagged_request(legal, legal2, owner)
    client.force_login(staff["privacy"])
    csv = client.get(reverse("oversight:panel_csv", args=["disclosures"])).content.decode()
    assert [line.split(",")[-1] for line in csv.strip().splitlines()[1:]] == ["0"] * 6


@pytest.mark.parametrize("role", ["legal", "superuser"])
def test_legal_and_superusers_see_the_withheld_disclosure_everywhere(client, staff, legal, legal2, owner, role):
    disclosure = gagged_request(legal, legal2, owner)
    client.force_login(staff[role])
    assert AUTHORITY in client.get(SHARING_ADMIN).content.decode()
    assert AUTHORITY in client.get(reverse("admin:disclosures_disclosure_changelist")).content.decode()
    assert client.get(reverse("admin:disclosures_disclosure_change", args=[disclosure.pk])).status_code == 200


def test_once_released_the_disclosure_is_in_the_admin_for_support_agents_too(client, staff, legal, legal2, owner):
    gagged_request(legal, legal2, owner, days=10)
    client.force_login(staff["support"])
    assert AUTHORITY not in client.get(SHARING_ADMIN).content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=11)):
        client.force_login(staff["support"])  # sessions last eight hours
        assert AUTHORITY in client.get(SHARING_ADMIN).content.decode()


def test_legal_looks_at_a_withheld_disclosure_are_logged_but_not_counted_for_the_client_until_released(
        client, staff, legal, legal2, owner):
    disclosure = gagged_request(legal, legal2, owner, disclosed=False, days=10)
    client.force_login(legal)
    client.get(reverse("admin:disclosures_disclosure_change", args=[disclosure.pk]))
    client.get(reverse("admin:autocomplete"), {"app_label": "disclosures", "model_name": "disclosuresubject",
                                               "field_name": "client", "term": owner.email})
    logged = StaffAccess.objects.filter(client=owner, staff=legal, action=StaffAccess.Action.DISCLOSURE)
    assert logged.count() == 2  # the record page and the client search of the form: both in the internal log
    assert staff_access_summary(owner)["total"] == 0
    assert list(staff_access_months(owner)) == []
    client.force_login(owner.user)
    assert "Our staff have not accessed your record." in client.get(
        reverse("rights:data_category", args=["staff_access"])).content.decode()
    client.force_login(staff["privacy"])
    log_page = client.get(reverse("admin:accounts_staffaccess_changelist")).content.decode()
    assert str(owner.public_id) not in log_page
    client.force_login(staff["superuser"])
    assert str(owner.public_id) in client.get(reverse("admin:accounts_staffaccess_changelist")).content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=11)):
        assert staff_access_summary(owner)["total"] == 2


def test_staff_cannot_tag_their_own_looks_as_looks_in_a_disclosure_to_see_whether_they_vanish(client, staff, legal,
                                                                                                legal2, owner):
    gagged_request(legal, legal2, owner, disclosed=False)
    client.force_login(staff["privacy"])
    client.get(reverse("admin:autocomplete"), {"app_label": "disclosures", "model_name": "disclosuresubject",
                                               "field_name": "client", "term": owner.email})
    assert list(StaffAccess.objects.filter(client=owner).values_list("action", flat=True)) == [StaffAccess.Action.VIEW_LIST]
    assert staff_access_summary(owner)["total"] == 1
    assert str(owner.public_id) in client.get(reverse("admin:accounts_staffaccess_changelist")).content.decode()


def test_legal_looks_at_a_withheld_hold_or_sharing_record_are_sealed_too(client, staff, legal, legal2, owner):
    disclosure = gagged_request(legal, legal2, owner)
    open_one = gagged_request(legal, legal2, owner, disclosed=False)
    client.force_login(legal)
    client.get(SHARING_ADMIN)
    client.get(reverse("admin:sharing_sharingrecord_change", args=[owner.sharing_records.get().pk]))
    client.get(reverse("admin:rights_legalhold_change", args=[LegalHold.objects.get(disclosure=open_one).pk]))
    assert disclosure.is_withheld() and StaffAccess.objects.filter(client=owner).count() == 3
    assert staff_access_summary(owner)["total"] == 0


def test_other_looks_at_the_same_client_still_count(client, staff, legal, legal2, owner):
    gagged_request(legal, legal2, owner, disclosed=False)
    client.force_login(staff["support"])
    client.get(reverse("admin:accounts_client_change", args=[owner.pk]))
    assert staff_access_summary(owner)["total"] == 1
