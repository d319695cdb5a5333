"""The query of who and what a breach affected: exactly the clients a scope finds in the window, with their data;
written set-based; a withheld disclosure never shows through it; the CSV is reasoned and access-logged."""

import uuid
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.access_log import Action, staff_access_record
from accounts.models import StaffAccess
from accounts.services import staff_user_ensure
from breaches.models import BreachSubject
from breaches.selectors import breach_subjects_for
from breaches.services import breach_subjects_select
from consent.models import Purpose
from consent.services import consent_record
from disclosures.services import disclosure_approve, disclosure_mark_disclosed, disclosure_record, disclosure_submit_for_review
from sharing.services import sharing_records_write
from tests.conftest import PASSWORD, make_client
from tests.sharing.conftest import make_affiliate

from .conftest import make_breach

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def subjects(breach):
    return {s.client.email: s.categories for s in BreachSubject.objects.filter(breach=breach).select_related("client")}


def share(affiliate, clients, fields, at):
    sharing_records_write(affiliate=affiliate, purpose=Purpose.objects.get(code="promotional-sharing"), fields=fields,
                          client_ids=[c.pk for c in clients], api_key=None, request_id=uuid.uuid4(), at=at)


def test_affected_clients_query_lists_exactly_the_clients_whose_data_was_shared_in_the_window(officer):
    ads, other = make_affiliate("Ads Network"), make_affiliate("Other Partner")
    inside, also, before, elsewhere = (make_client(f"{n}@example.com") for n in ("inside", "also", "before", "elsewhere"))
    share(ads, [inside], ["email", "ip_address"], NOW - timedelta(days=2))
    share(ads, [also], ["phone"], NOW - timedelta(days=1))            # phone is not a category of this breach
    share(ads, [also], ["email"], NOW - timedelta(hours=5))
    share(ads, [before], ["email"], NOW - timedelta(days=30))         # before the window
    share(other, [elsewhere], ["email"], NOW - timedelta(days=1))     # another recipient
    breach = make_breach(officer, categories=["email", "ip_address", "name"])
    added = breach_subjects_select(breach=breach, actor=officer, scope="recipient", recipient="ads network",
                                   since=NOW - timedelta(days=7), until=NOW)
    assert added == 2
    assert subjects(breach) == {"inside@example.com": ["email", "ip_address"], "also@example.com": ["email"]}
    # Run again with a wider window: the two are not added twice, the third joins.
    assert breach_subjects_select(breach=breach, actor=officer, scope="recipient", recipient="Ads Network",
                                  since=NOW - timedelta(days=60), until=NOW) == 1
    assert BreachSubject.objects.filter(breach=breach).count() == 3


def test_affected_clients_by_staff_member_come_from_the_access_log_with_the_fields_shown(officer, support):
    looked, exported, earlier = (make_client(f"{n}@example.com") for n in ("looked", "exported", "earlier"))
    staff_access_record(staff=support, client_ids=[looked.pk], action=Action.VIEW_DETAIL, fields=["full_name", "phone"])
    staff_access_record(staff=support, client_ids=[exported.pk], action=Action.EXPORT, fields=["email", "line1"])
    staff_access_record(staff=officer, client_ids=[earlier.pk], action=Action.VIEW_DETAIL, fields=["email"])  # not them
    breach = make_breach(officer, categories=["name", "email", "phone", "shipping_address"])
    breach_subjects_select(breach=breach, actor=officer, scope="staff-access", staff_id=support.pk,
                           since=NOW - timedelta(hours=1), until=timezone.now() + timedelta(minutes=1))
    assert subjects(breach) == {"looked@example.com": ["name", "phone"], "exported@example.com": ["email", "shipping_address"]}


def test_affected_clients_with_consent_events_in_the_window_and_by_categories_held(officer):
    granted, silent = make_client("granted@example.com"), make_client("silent@example.com", phone="")
    since = timezone.now()
    consent_record(client=granted, purpose=Purpose.objects.get(code="promotional-sharing"), action="grant", channel="portal")
    breach = make_breach(officer, categories=["email"])
    breach_subjects_select(breach=breach, actor=officer, scope="consent-events", since=since,
                           until=timezone.now() + timedelta(minutes=1))
    assert subjects(breach) == {"granted@example.com": ["email"]}
    phones = make_breach(officer, categories=["phone"])
    breach_subjects_select(breach=phones, actor=officer, scope="categories", since=NOW - timedelta(days=1),
                           until=timezone.now() + timedelta(minutes=1))
    assert subjects(phones) == {"granted@example.com": ["phone"]}  # the silent client has no phone on file
    assert silent.phone == ""


def test_a_list_of_client_ids_with_an_unknown_one_is_refused_and_adds_nobody(client, officer):
    known = make_client("known@example.com")
    breach = make_breach(officer)
    client.force_login(officer)
    url = reverse("admin:breaches_breach_select", args=[breach.pk])
    upload = SimpleUploadedFile("ids.csv", f"client_id\n{known.public_id}\n{uuid.uuid4()}\n".encode())
    response = client.post(url, {"scope": "client-list", "client_file": upload})
    assert response.status_code == 400 and "1 client IDs are not known; nothing was added" in response.content.decode()
    assert not BreachSubject.objects.exists()
    response = client.post(url, {"scope": "client-list", "client_ids": "not-a-uuid"})
    assert response.status_code == 400 and "not client IDs" in response.content.decode()
    response = client.post(url, {"scope": "recipient", "recipient": "Ads", "since": "2026-03-02 00:00",
                                 "until": "2026-03-01 00:00"})
    assert response.status_code == 400 and "start lies before its end" in response.content.decode()
    response = client.post(url, {"scope": "client-list", "client_ids": f"{known.public_id}"})
    assert response.status_code == 302 and subjects(breach) == {"known@example.com": ["email", "name"]}


def withheld_disclosure_to_police(client):
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    legal2 = staff_user_ensure(email="legal2@example.com", password=PASSWORD, groups=["Legal"])
    disclosure = disclosure_record(recorded_by=legal, clients=[client], authority_name="Shenzhen Public Security Bureau",
                                   authority_country="CN", authority_kind="police", request_type="warrant",
                                   reference_number="SZ-1", received_on=date.today(), categories_requested=["email"],
                                   withhold_until=date.today() + timedelta(days=60), withhold_reference="NDO 7")
    disclosure_submit_for_review(disclosure=disclosure, actor=legal)
    disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Warrant checked")
    disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={client.pk: ["email"]})
    return legal


def test_a_withheld_disclosure_does_not_reveal_its_client_to_a_privacy_officer_through_the_query(client, officer):
    gagged = make_client("gagged@example.com")
    legal = withheld_disclosure_to_police(gagged)
    breach = make_breach(officer)
    window = {"since": NOW - timedelta(days=1), "until": timezone.now() + timedelta(minutes=1)}
    by_name = breach_subjects_select(breach=breach, actor=officer, scope="recipient",
                                     recipient="Shenzhen Public Security Bureau", **window)
    unknown = breach_subjects_select(breach=breach, actor=officer, scope="recipient", recipient="No Such Bureau", **window)
    assert by_name == unknown == 0 and not BreachSubject.objects.exists()

    # A superuser (who may know of the disclosure) selects it: the row is kept, withheld, Legal's alone.
    root = staff_user_ensure(email="root@example.com", password=PASSWORD, groups=[])
    root.is_superuser = True
    root.save()
    assert breach_subjects_select(breach=breach, actor=root, scope="recipient",
                                  recipient="Shenzhen Public Security Bureau", **window) == 1
    assert BreachSubject.objects.get().withheld_until == date.today() + timedelta(days=60)
    assert not breach_subjects_for(breach=breach, viewer=officer).exists()
    assert breach_subjects_for(breach=breach, viewer=legal).count() == 1
    client.force_login(officer)
    page = client.get(reverse("admin:breaches_breach_change", args=[breach.pk])).content.decode()
    assert "0 clients affected" in page
    listing = client.get(reverse("admin:breaches_breach_changelist")).content.decode()
    assert '<td class="field-clients_count">0</td>' in listing
    csv = client.post(reverse("admin:breaches_breach_subjects_csv", args=[breach.pk]), {"reason": "Checking the list"})
    assert "gagged@example.com" not in csv.content.decode("utf-8-sig")
    client.force_login(legal)
    assert "1 client affected" in client.get(reverse("admin:breaches_breach_change", args=[breach.pk])).content.decode()


def test_csv_of_affected_clients_needs_a_reason_and_each_client_exported_is_access_logged(client, officer):
    one, two = make_client("one@example.com"), make_client("two@example.com", full_name="=HYPERLINK(1)")
    breach = make_breach(officer)
    breach_subjects_select(breach=breach, actor=officer, scope="client-list", client_text=f"{one.public_id},{two.public_id}")
    client.force_login(officer)
    url = reverse("admin:breaches_breach_subjects_csv", args=[breach.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "short"}).status_code == 400
    assert not StaffAccess.objects.filter(action=Action.EXPORT).exists()
    response = client.post(url, {"reason": "Sending the list to the forensic team"})
    text = response.content.decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv") and "one@example.com" in text and "'=HYPERLINK(1)" in text
    logged = StaffAccess.objects.filter(action=Action.EXPORT, staff=officer)
    assert sorted(logged.values_list("client__email", flat=True)) == ["one@example.com", "two@example.com"]
    assert logged.first().reason == "Sending the list to the forensic team"


def test_selection_writes_a_few_statements_per_chunk_not_one_per_client(officer, django_assert_max_num_queries):
    clients = [make_client(f"c{i}@example.com", phone="") for i in range(60)]
    breach = make_breach(officer)
    text = "\n".join(str(c.public_id) for c in clients)
    with django_assert_max_num_queries(12):
        assert breach_subjects_select(breach=breach, actor=officer, scope="client-list", client_text=text) == 60


def test_selection_rejects_a_scope_without_its_parameters(officer):
    breach = make_breach(officer)
    with pytest.raises(ValidationError):
        breach_subjects_select(breach=breach, actor=officer, scope="staff-access", since=NOW - timedelta(days=1), until=NOW)
    with pytest.raises(ValidationError):
        breach_subjects_select(breach=breach, actor=officer, scope="nonsense")
