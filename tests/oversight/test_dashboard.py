"""The privacy officer's dashboard: who may open it, the numbers of each chart (data made through the real services),
the CSV downloads, the accessible SVG, and a page cost that does not grow with the data."""

import csv
import io
import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.services import staff_user_ensure
from amendments.models import NoticeDelivery
from amendments.services import notice_period, policy_draft_save, policy_publish
from consent.models import Purpose
from consent.services import consent_record
from disclosures.services import disclosure_record, disclosure_reject, disclosure_submit_for_review
from oversight import selectors
from oversight.export import csv_cell
from rights.services import request_extend, request_open
from sharing.models import Affiliate
from sharing.services import affiliate_save, sharing_records_write, sharing_records_write_to_recipient
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 11, 10, 0, tzinfo=SHANGHAI)  # a Wednesday
TODAY = NOW.date()
THIS_MONDAY = date(2026, 3, 9)
DASHBOARD = "oversight:dashboard"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def at(moment):
    """Run the services as if at `moment` (the dashboard still reads at NOW)."""
    return time_machine.travel(moment, tick=False)


def csv_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def page(response) -> str:
    return response.content.decode()


def marketing() -> Purpose:
    return Purpose.objects.get(code="marketing-messages")


def sharing_purpose() -> Purpose:
    return Purpose.objects.get(code="promotional-sharing")


# --- Access ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [reverse(DASHBOARD), reverse("oversight:panel_csv", args=["opt-outs"])])
def test_privacy_officers_and_superusers_open_the_dashboard(client, privacy_officer, url):
    client.force_login(privacy_officer)
    assert client.get(url).status_code == 200
    superuser = staff_user_ensure(email="root@example.com", password=PASSWORD, groups=[], superuser=True)
    client.force_login(superuser)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", [reverse(DASHBOARD), reverse("oversight:panel_csv", args=["opt-outs"])])
def test_legal_and_support_agents_are_refused(client, legal, support_agent, url):
    for user in (legal, support_agent):
        client.force_login(user)
        assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [reverse(DASHBOARD), reverse("oversight:panel_csv", args=["opt-outs"])])
def test_clients_and_anonymous_visitors_go_to_the_admin_login(client, owner, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    client.force_login(owner.user)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_the_admin_index_links_to_the_dashboard_for_those_who_may_open_it(client, privacy_officer, legal):
    client.force_login(privacy_officer)
    assert f'href="{reverse(DASHBOARD)}">Privacy dashboard' in page(client.get(reverse("admin:index")))
    client.force_login(legal)
    assert reverse(DASHBOARD) not in page(client.get(reverse("admin:index")))


def test_an_unknown_chart_has_no_csv(client, privacy_officer):
    client.force_login(privacy_officer)
    assert client.get(reverse("oversight:panel_csv", args=["nothing"])).status_code == 404


# --- The numbers of each chart ---------------------------------------------------------------------------------------


def test_consent_rates_and_changes_count_choices_not_signup_defaults(owner, outsider):
    carol = make_client("carol@example.com", full_name="Carol Client")
    with at(NOW - timedelta(weeks=3)):
        consent_record(client=owner, purpose=marketing(), action="grant", channel="portal")
        consent_record(client=outsider, purpose=marketing(), action="grant", channel="portal")
    with at(NOW - timedelta(weeks=1)):
        consent_record(client=outsider, purpose=marketing(), action="withdraw", channel="email")
    with at(NOW - timedelta(weeks=20)):  # before the 12 weeks: in the share, not in the changes
        consent_record(client=carol, purpose=marketing(), action="grant", channel="portal")

    rate = next(r for r in selectors.consent_rates() if r.code == "marketing-messages")
    assert (rate.granted, rate.clients, rate.percent, rate.grants, rate.withdrawals) == (2, 3, 67, 2, 1)

    changes = {(c.week, c.purpose_code): (c.grants, c.withdrawals) for c in selectors.consent_changes()}
    assert changes == {(THIS_MONDAY - timedelta(weeks=3), "marketing-messages"): (2, 0),
                       (THIS_MONDAY - timedelta(weeks=1), "marketing-messages"): (0, 1)}


def test_opt_outs_per_channel_per_week(owner, outsider, privacy_officer):
    for purpose in (marketing(), sharing_purpose()):
        consent_record(client=owner, purpose=purpose, action="grant", channel="portal")
        consent_record(client=outsider, purpose=purpose, action="grant", channel="portal")
    with at(NOW - timedelta(weeks=2)):
        consent_record(client=owner, purpose=marketing(), action="withdraw", channel="portal")
        consent_record(client=outsider, purpose=marketing(), action="withdraw", channel="letter", recorded_by=privacy_officer)
    consent_record(client=owner, purpose=sharing_purpose(), action="withdraw", channel="gpc")
    consent_record(client=outsider, purpose=sharing_purpose(), action="withdraw", channel="staff", recorded_by=privacy_officer)

    weeks = selectors.opt_outs_per_channel()
    assert [w.week for w in weeks][-1] == THIS_MONDAY and len(weeks) == 12
    by_week = {w.week: w.counts for w in weeks}
    assert by_week[THIS_MONDAY - timedelta(weeks=2)] == {"portal": 1, "gpc": 0, "do-not-sell": 0, "email": 0, "letter": 1,
                                                          "other": 0}
    assert by_week[THIS_MONDAY] == {"portal": 0, "gpc": 1, "do-not-sell": 0, "email": 0, "letter": 0, "other": 1}
    assert sum(w.total for w in weeks) == 4


def test_sharing_volume_per_affiliate(owner, outsider):
    big = affiliate_save(affiliate=Affiliate(name="Big Partner", kind="dropship-partner", country="US",
                                             contact_name="B", contact_email="b@example.com",
                                             transfer_mechanism="eu-scc", transfer_mechanism_reference="SCC-1"))
    small = affiliate_save(affiliate=Affiliate(name="Small Partner", kind="affiliated-company", country="CN",
                                               contact_name="S", contact_email="s@example.com"))
    ids = [owner.pk, outsider.pk]
    for when in (NOW, NOW - timedelta(weeks=4)):
        sharing_records_write(affiliate=big, purpose=sharing_purpose(), fields=["email"], client_ids=ids, api_key=None,
                              request_id=uuid.uuid4(), at=when)
    sharing_records_write(affiliate=small, purpose=sharing_purpose(), fields=["email"], client_ids=[owner.pk],
                          api_key=None, request_id=uuid.uuid4(), at=NOW)
    sharing_records_write(affiliate=small, purpose=sharing_purpose(), fields=["email"], client_ids=[outsider.pk],
                          api_key=None, request_id=uuid.uuid4(), at=NOW - timedelta(weeks=13))  # too old
    sharing_records_write_to_recipient(recipient_name="Court", recipient_country="CN", purpose=sharing_purpose(),
                                       fields=["name"], client_ids=[owner.pk], request_id=uuid.uuid4(), at=NOW)

    assert [(v.recipient, v.is_affiliate, v.records, v.clients) for v in selectors.sharing_per_affiliate()] == [
        ("Big Partner", True, 4, 2), ("Small Partner", True, 1, 1), ("Other recipients (authorities)", False, 1, 1)]


def test_open_requests_by_effective_due_date(privacy_officer):
    def letter(days_ago, email):  # due 30 days after receipt (the default rule)
        return request_open(kind="access", channel="letter", requester_email=email, received_at=NOW - timedelta(days=days_ago))

    overdue = letter(35, "a@example.com")
    assert overdue.due_on == TODAY - timedelta(days=5)
    letter(27, "b@example.com")  # due in 3 days
    in_progress = letter(20, "c@example.com")  # due in 10 days
    in_progress.status = "in-progress"
    in_progress.save(update_fields=["status"])
    extended = letter(29, "d@example.com")  # due tomorrow, but extended by four weeks
    request_extend(request=extended, until=TODAY + timedelta(days=29), reason="Complex.", actor=privacy_officer)
    closed = letter(40, "e@example.com")
    closed.status = "completed"
    closed.save(update_fields=["status"])

    buckets = {b.bucket: (b.open, b.in_progress) for b in selectors.open_requests_by_due()}
    assert buckets == {"overdue": (1, 0), "week-1": (1, 0), "week-2": (0, 1), "week-3": (0, 0), "week-4": (0, 0),
                       "later": (1, 0)}


def test_notice_progress_for_the_latest_published_version(owner, outsider):
    make_client("nophone@example.com", phone="", full_name="No Phone")
    version = policy_draft_save(label="9.0", body_en="New text.", summary="Clearer wording.")
    policy_publish(version=version, effective_at=NOW, now=NOW - notice_period(material=False))
    NoticeDelivery.objects.filter(version=version, client=owner, channel="email").update(status="sent")
    NoticeDelivery.objects.filter(version=version, client=outsider, channel="email").update(status="failed")

    assert selectors.latest_policy_version() == version
    progress = {p.channel: p.counts for p in selectors.notice_progress(version)}
    assert progress["email"] == {"sent": 1, "skipped": 0, "failed": 1, "pending": 1}
    assert progress["sms"] == {"sent": 0, "skipped": 1, "failed": 0, "pending": 2}


def test_disclosures_by_status(owner, privacy_officer, legal):
    def record(reference):
        return disclosure_record(recorded_by=privacy_officer, clients=[owner], authority_name="Bureau",
                                 authority_country="CN", authority_kind="police", request_type="warrant",
                                 reference_number=reference, received_on=TODAY, categories_requested=["name"])

    record("A-1")
    disclosure_submit_for_review(disclosure=record("A-2"), actor=privacy_officer)
    rejected = disclosure_submit_for_review(disclosure=record("A-3"), actor=privacy_officer)
    disclosure_reject(disclosure=rejected, reviewer=legal, reason="No legal basis.")

    counts = {c.status: c.count for c in selectors.disclosures_by_status()}
    assert counts == {"received": 1, "under-review": 1, "approved": 0, "rejected": 1, "disclosed": 0,
                      "partially-disclosed": 0}


# --- The page, the SVG and the CSV -------------------------------------------------------------------------------------


def test_the_page_shows_every_chart_as_an_accessible_svg_with_its_table(client, privacy_officer, owner):
    consent_record(client=owner, purpose=marketing(), action="grant", channel="portal")
    client.force_login(privacy_officer)
    html = page(client.get(reverse(DASHBOARD)))
    svgs = re.findall(r"<svg class=\"oversight-chart__svg\".*?</svg>", html, flags=re.S)
    assert len(svgs) >= 5
    for svg in svgs:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    assert "style=" not in html.split("<body", 1)[1]
    for slug in ("consent-rates", "consent-changes", "opt-outs", "sharing", "requests-due", "notices", "disclosures"):
        assert f'id="{slug}-heading"' in html
        assert reverse("oversight:panel_csv", args=[slug]) in html
    assert '<th scope="col">Granted share</th>' in html and "<caption" in html
    assert re.search(r'<link rel="stylesheet" href="/static/css/oversight(\.[0-9a-f]{12})?\.css">', html)


def test_csv_downloads_have_a_header_and_escape_formulas(client, privacy_officer, owner):
    evil = affiliate_save(affiliate=Affiliate(name='=HYPERLINK("http://x")', kind="dropship-partner", country="US",
                                              contact_name="E", contact_email="e@example.com",
                                              transfer_mechanism="eu-scc", transfer_mechanism_reference="SCC-1"))
    sharing_records_write(affiliate=evil, purpose=sharing_purpose(), fields=["email"], client_ids=[owner.pk],
                          api_key=None, request_id=uuid.uuid4(), at=NOW)
    client.force_login(privacy_officer)
    response = client.get(reverse("oversight:panel_csv", args=["sharing"]))
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    assert csv_of(response) == [["recipient", "is_affiliate", "records", "clients"],
                                ["'=HYPERLINK(\"http://x\")", "yes", "1", "1"]]

    rows = csv_of(client.get(reverse("oversight:panel_csv", args=["opt-outs"])))
    assert rows[0] == ["week_starting", "portal", "gpc", "do-not-sell", "email", "letter", "other", "total"]
    assert len(rows) == 13 and rows[-1][0] == THIS_MONDAY.isoformat()


@pytest.mark.parametrize("value, cell", [("=1+1", "'=1+1"), ("+33 6 1234", "+33 6 1234"), ("-2", "-2"), ("-2+A1", "'-2+A1"),
                                         ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("@SUM(A1)", "'@SUM(A1)"),
                                         ("\tx", "'\tx"), ("plain", "plain"), (-2, "-2"), (None, "")])
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(value, cell):
    assert csv_cell(value) == cell


# --- Cost -------------------------------------------------------------------------------------------------------------


def _data(n, *, start):
    """n clients, each with choices, sharing, a request and a disclosure."""
    affiliate = Affiliate.objects.first() or affiliate_save(affiliate=Affiliate(
        name="Partner", kind="dropship-partner", country="US", contact_name="P", contact_email="p@example.com",
        transfer_mechanism="eu-scc", transfer_mechanism_reference="SCC-1"))
    officer = staff_user_ensure(email="recorder@example.com", password=PASSWORD, groups=["Privacy officers"])
    clients = [make_client(f"c{start + i}@example.com", full_name=f"Client {start + i}") for i in range(n)]
    for c in clients:
        consent_record(client=c, purpose=marketing(), action="grant", channel="portal")
        consent_record(client=c, purpose=marketing(), action="withdraw", channel="portal")
        request_open(kind="access", channel="portal", client=c)
    sharing_records_write(affiliate=affiliate, purpose=sharing_purpose(), fields=["email"],
                          client_ids=[c.pk for c in clients], api_key=None, request_id=uuid.uuid4(), at=NOW)
    disclosure_record(recorded_by=officer, clients=clients, authority_name="Bureau", authority_country="CN",
                      authority_kind="police", request_type="warrant", reference_number=f"R-{start}", received_on=TODAY,
                      categories_requested=["name"])


def test_the_page_costs_the_same_number_of_queries_with_more_data(client, privacy_officer,
                                                                   django_assert_max_num_queries):
    client.force_login(privacy_officer)
    version = policy_draft_save(label="9.1", body_en="Text.", summary="")
    _data(2, start=0)
    policy_publish(version=version, effective_at=NOW, now=NOW - notice_period(material=False))
    client.get(reverse(DASHBOARD))  # warm up (sessions, content types)
    # and the public consent log (latest checkpoint, queue), the last retention run and the record-of-processing
    # section (approved assessments, purposes, receiving recipients)
    with django_assert_max_num_queries(20) as small:
        assert client.get(reverse(DASHBOARD)).status_code == 200
    _data(12, start=100)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse(DASHBOARD)).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_permission_is_reference_data_that_survives_a_flush(client):
    """The group's permission comes from a data migration; tests that flush get it back from REFERENCE_DATA."""
    officer = staff_user_ensure(email="officer@example.com", password=PASSWORD, groups=["Privacy officers"])
    client.force_login(officer)
    assert client.get(reverse(DASHBOARD)).status_code == 200
