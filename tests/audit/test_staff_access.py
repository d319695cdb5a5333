"""The staff access log (issue #10): every admin view, export or change of a client's personal data writes an
append-only row; privacy officers read and filter it; the client sees counts and dates in "Your data", never names."""

import csv
import io
from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.access_log import staff_access_record
from accounts.models import StaffAccess
from accounts.services import staff_user_ensure
from disclosures.services import disclosure_record
from rights.erasure import erasure_perform, erasure_request
from rights.services import request_open
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db
Action = StaffAccess.Action
CHANGELIST = reverse("admin:accounts_client_changelist")
LOG = reverse("admin:accounts_staffaccess_changelist")


@pytest.fixture
def legal(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


def clients(n, prefix="c"):
    return [make_client(f"{prefix}{i}@example.com", phone="", full_name=f"Person {prefix}{i}") for i in range(n)]


def rows(**filters):
    return list(StaffAccess.objects.filter(**filters).order_by("client_id"))


def change_data(c, **changes):
    data = {"full_name": c.full_name, "email": c.email, "phone": c.phone, "country": str(c.country), "region": c.region,
            "preferred_language": c.preferred_language, "user": c.user_id or "",
            "correction_channel": "email", **changes}  # the change form posts its initial channel (issue #18)
    for prefix in ("addresses", "ip_observations"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0, f"{prefix}-MIN_NUM_FORMS": 0,
                     f"{prefix}-MAX_NUM_FORMS": 1000})
    return data


def export(client, ids, **extra):
    return client.post(CHANGELIST, {"action": "export_selected_csv", "_selected_action": [str(i) for i in ids], **extra})


# --- what writes rows -----------------------------------------------------------------------------------------------

def test_the_client_list_writes_one_row_per_client_shown(client, privacy_officer):
    shown = clients(3)
    client.force_login(privacy_officer)
    assert client.get(CHANGELIST).status_code == 200
    logged = rows(action=Action.VIEW_LIST)
    assert [r.client_id for r in logged] == sorted(c.pk for c in shown)
    assert all(r.staff == privacy_officer and r.path == CHANGELIST and "email" in r.fields for r in logged)


def test_a_search_writes_rows_for_the_clients_found_only_and_never_stores_the_search_terms(client, support_agent,
                                                                                           owner, outsider):
    client.force_login(support_agent)
    client.get(CHANGELIST, {"q": owner.email})
    assert [r.client_id for r in rows()] == [owner.pk]
    assert owner.email not in rows()[0].path


def test_the_change_page_writes_one_row_with_the_fields_it_shows(client, support_agent, owner):
    client.force_login(support_agent)
    assert client.get(reverse("admin:accounts_client_change", args=[owner.pk])).status_code == 200
    [row] = rows()
    assert (row.client, row.action, row.staff) == (owner, Action.VIEW_DETAIL, support_agent)
    assert {"full_name", "email", "phone", "addresses", "ip_observations"} <= set(row.fields)


def test_saving_writes_one_row_with_the_changed_fields(client, privacy_officer, owner):
    client.force_login(privacy_officer)
    url = reverse("admin:accounts_client_change", args=[owner.pk])
    response = client.post(url, change_data(owner, full_name="Owner Renamed", region=""))
    assert response.status_code == 302, response.content.decode()[:2000]
    [row] = rows(action=Action.CHANGE)
    assert row.client == owner and row.fields == ["full_name"]


def test_an_export_asks_for_a_reason_first_and_writes_nothing_until_given(client, privacy_officer):
    chosen = clients(2)
    client.force_login(privacy_officer)
    page = export(client, [c.pk for c in chosen])
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    assert export(client, [c.pk for c in chosen], reason="too short").status_code == 400
    assert rows(action=Action.EXPORT) == []


def test_an_export_with_a_reason_gives_the_csv_and_records_the_reason_for_each_client(client, privacy_officer):
    chosen, other = clients(2), make_client("other@example.com", phone="", full_name="Not Chosen")
    client.force_login(privacy_officer)
    response = export(client, [c.pk for c in chosen], reason="Court order 2026/17, parcel dispute")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {line[2] for line in lines[1:]} == {c.email for c in chosen}
    logged = rows(action=Action.EXPORT)
    assert [r.client_id for r in logged] == sorted(c.pk for c in chosen) and other.pk not in [r.client_id for r in logged]
    assert {r.reason for r in logged} == {"Court order 2026/17, parcel dispute"} and "email" in logged[0].fields


def test_a_support_agent_has_no_export_action(client, support_agent, owner):
    client.force_login(support_agent)
    assert "export_selected_csv" not in client.get(CHANGELIST).content.decode()
    response = export(client, [owner.pk], reason="I would like a copy of this")
    assert not response.get("Content-Type", "").startswith("text/csv")
    assert rows(action=Action.EXPORT) == []


def test_the_client_autocomplete_of_the_disclosure_form_writes_a_row_per_client_found(client, legal, owner, outsider):
    client.force_login(legal)
    response = client.get(reverse("admin:autocomplete"), {
        "app_label": "disclosures", "model_name": "disclosuresubject", "field_name": "client", "term": owner.email})
    assert [r["id"] for r in response.json()["results"]] == [str(owner.pk)]
    # a look in a disclosure: sealed from the client while a withheld disclosure concerns them (issue #16.4)
    assert [(r.client_id, r.action, r.fields) for r in rows()] == [(owner.pk, Action.DISCLOSURE, ["full_name", "email"])]


def test_staff_pages_without_client_data_write_nothing(client, privacy_officer, owner):
    client.force_login(privacy_officer)
    for url in [reverse("admin:index"), LOG, reverse("admin:accounts_user_changelist") + "?is_staff__exact=1",
                reverse("admin:accounts_user_change", args=[privacy_officer.pk])]:
        assert client.get(url).status_code == 200
    assert rows() == []


def test_the_user_admin_logs_every_look_at_a_clients_login_and_none_at_staff_logins(client, privacy_officer, owner,
                                                                                    outsider):
    """A client's login shows their e-mail address: the user admin is in the access log like the client admin."""
    client.force_login(privacy_officer)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    assert [r.client_id for r in rows(action=Action.VIEW_LIST)] == sorted([owner.pk, outsider.pk])
    assert client.get(reverse("admin:accounts_user_change", args=[owner.user_id])).status_code == 200
    [detail] = rows(action=Action.VIEW_DETAIL)
    assert detail.client == owner and "email" in detail.fields and detail.staff == privacy_officer




def test_a_disclosure_record_writes_a_disclosure_row_per_client_concerned_and_its_queue_none(client, legal, owner,
                                                                                                outsider):
    disclosure = disclosure_record(recorded_by=legal, clients=[owner, outsider], authority_name="Shenzhen PSB",
                                   authority_country="CN", authority_kind="police", request_type="warrant",
                                   reference_number="SZ-2026-0042", received_on=date(2026, 11, 20),
                                   categories_requested=["name", "phone"])
    client.force_login(legal)
    assert client.get(reverse("admin:disclosures_disclosure_changelist")).status_code == 200
    assert rows() == []
    assert client.get(reverse("admin:disclosures_disclosure_change", args=[disclosure.pk])).status_code == 200
    logged = rows(action=Action.DISCLOSURE)
    assert [r.client_id for r in logged] == sorted([owner.pk, outsider.pk]) and logged[0].staff == legal


def test_a_request_in_the_queue_and_its_page_write_a_row_for_its_client(client, privacy_officer, owner):
    dsr = request_open(kind="access", channel="portal", client=owner)
    request_open(kind="access", channel="letter", requester_name="No Account", requester_email="letter@example.com",
                 details="Please help.", received_at=timezone.now())
    client.force_login(privacy_officer)
    client.get(reverse("admin:rights_datasubjectrequest_changelist"))
    assert [(r.client_id, r.action) for r in rows()] == [(owner.pk, Action.VIEW_LIST)]
    client.get(reverse("admin:rights_datasubjectrequest_change", args=[dsr.pk]))
    assert rows(action=Action.VIEW_DETAIL)[0].client == owner


def test_erasure_keeps_the_log_rows_which_hold_no_personal_value(privacy_officer, owner, django_capture_on_commit_callbacks):
    staff_access_record(staff=privacy_officer, client_ids=[owner.pk], action=Action.CHANGE, fields=["phone"],
                        path=f"/admin/accounts/client/{owner.pk}/change/")
    erasure = erasure_request(client=owner, actor=owner.user)
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        with django_capture_on_commit_callbacks(execute=True):
            erasure_perform(request=erasure)
    owner.refresh_from_db()
    [row] = rows()
    assert owner.erased_at and row.client == owner and row.fields == ["phone"]
    assert "owner@example.com" not in f"{row.path} {row.fields} {row.reason}"


# --- the log itself -------------------------------------------------------------------------------------------------

def test_the_database_refuses_update_and_delete_on_the_log(privacy_officer, owner):
    staff_access_record(staff=privacy_officer, client_ids=[owner.pk], action=Action.VIEW_DETAIL, path="/admin/x/")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        StaffAccess.objects.update(reason="changed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        StaffAccess.objects.all().delete()
    assert StaffAccess.objects.count() == 1


def test_a_privacy_officer_reads_and_filters_the_log(client, privacy_officer, support_agent, owner, outsider):
    staff_access_record(staff=support_agent, client_ids=[owner.pk], action=Action.VIEW_DETAIL, path="/admin/a/")
    staff_access_record(staff=privacy_officer, client_ids=[outsider.pk], action=Action.EXPORT, path="/admin/b/",
                        reason="Audit of the French accounts")
    client.force_login(privacy_officer)
    page = client.get(LOG, {"action": Action.EXPORT}).content.decode()
    assert str(outsider.public_id) in page and str(owner.public_id) not in page
    page = client.get(LOG, {"q": str(owner.public_id)}).content.decode()
    assert str(owner.public_id) in page and str(outsider.public_id) not in page
    page = client.get(LOG, {"staff__id__exact": support_agent.pk}).content.decode()
    assert str(owner.public_id) in page and str(outsider.public_id) not in page
    assert owner.email not in page  # the log names clients by reference only


def test_nobody_can_add_change_or_delete_log_rows(client, privacy_officer, support_agent, legal, owner):
    staff_access_record(staff=support_agent, client_ids=[owner.pk], action=Action.VIEW_DETAIL, path="/admin/a/")
    row = StaffAccess.objects.get()
    superuser = staff_user_ensure(email="root@example.com", password=PASSWORD, groups=[])
    superuser.is_superuser = True
    superuser.save()
    for user in [privacy_officer, superuser]:
        client.force_login(user)
        assert client.get(reverse("admin:accounts_staffaccess_add")).status_code == 403
        assert client.post(reverse("admin:accounts_staffaccess_change", args=[row.pk]), {"reason": "x"}).status_code == 403
        assert client.post(reverse("admin:accounts_staffaccess_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    for user in [legal, support_agent]:
        client.force_login(user)
        assert client.get(LOG).status_code == 403
        assert client.get(reverse("admin:accounts_staffaccess_change", args=[row.pk])).status_code == 403
    assert StaffAccess.objects.get().reason == ""


def test_the_client_list_costs_the_same_number_of_queries_however_many_clients_it_shows(client, privacy_officer):
    clients(3, "a")
    client.force_login(privacy_officer)
    client.get(CHANGELIST)  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        client.get(CHANGELIST)
    clients(40, "b")
    with CaptureQueriesContext(connection) as many:
        client.get(CHANGELIST)
    inserts = [q["sql"] for q in many.captured_queries if q["sql"].startswith('INSERT INTO "accounts_staffaccess"')]
    assert len(many) == len(few) and len(inserts) == 1
    assert StaffAccess.objects.filter(action=Action.VIEW_LIST).count() == 3 + 3 + 43


# --- what the client sees ---------------------------------------------------------------------------------------------

def test_the_client_sees_counts_and_dates_of_staff_access_but_no_names(client, privacy_officer, support_agent, owner):
    staff_access_record(staff=support_agent, client_ids=[owner.pk], action=Action.VIEW_DETAIL, path="/admin/a/")
    staff_access_record(staff=support_agent, client_ids=[owner.pk], action=Action.VIEW_LIST, path="/admin/b/")
    staff_access_record(staff=privacy_officer, client_ids=[owner.pk], action=Action.CHANGE, fields=["phone"],
                        path="/admin/c/")
    client.force_login(owner.user)
    page = client.get(reverse("rights:data")).content.decode()
    section = page.split('id="staff_access"', 1)[1].split("</section>", 1)[0]
    assert "Staff access to your record" in section and "Times looked at" in section and "Last access" in section
    cells = section.split("<tbody>", 1)[1]
    assert ">2<" in cells and ">1<" in cells
    assert "accessed your record 3 times in all" in section
    for hidden in [support_agent.email, privacy_officer.email, "/admin/"]:
        assert hidden not in page


def test_another_client_sees_none_of_the_owners_staff_access(client, support_agent, owner, outsider):
    staff_access_record(staff=support_agent, client_ids=[owner.pk], action=Action.VIEW_DETAIL, path="/admin/a/")
    client.force_login(outsider.user)
    page = client.get(reverse("rights:data")).content.decode()
    section = page.split('id="staff_access"', 1)[1].split("</section>", 1)[0]
    assert "Our staff have not accessed your record." in section
