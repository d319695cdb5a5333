import csv
import io
import re
from datetime import date
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse

from disclosures.report import transparency_report
from disclosures.report_publish import transparency_report_publish
from disclosures.services import (
    disclosure_approve,
    disclosure_mark_disclosed,
    disclosure_record,
    disclosure_reject,
    disclosure_submit_for_review,
)
from tests.conftest import make_client

pytestmark = pytest.mark.django_db
PAGE, CSV = reverse("transparency:report"), reverse("transparency:csv")
AUTHORITY, REFERENCE = "Shenzhen Public Security Bureau", "SZ-REF-77031"


@pytest.fixture(autouse=True)
def early_2026():
    """Today is 1 March 2026: the half-years of 2025 have ended, January–June 2026 has not."""
    with time_machine.travel("2026-03-01 10:00 +0800", tick=False):
        yield


@pytest.fixture
def clients():
    return [make_client(f"client{i}@example.com", full_name=f"Reportable Person{i}") for i in range(6)]


@pytest.fixture
def request_made(legal, legal2):
    """A request from an authority, taken through the real workflow to `outcome`."""
    def make(clients, *, received_on, country="US", request_type="subpoena", outcome="received"):
        disclosure = disclosure_record(recorded_by=legal, clients=clients, authority_name=AUTHORITY,
                                       authority_country=country, authority_kind="police", request_type=request_type,
                                       reference_number=REFERENCE, received_on=received_on,
                                       categories_requested=["name", "phone"])
        if outcome == "received":
            return disclosure
        disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
        if outcome == "rejected":
            return disclosure_reject(disclosure=disclosure, reviewer=legal2, reason="No legal basis")
        if outcome != "under-review":
            disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid",
                                            prc_approval_reference="MOJ-1")
        if outcome in ("disclosed", "partially-disclosed"):
            categories = ["name", "phone"] if outcome == "disclosed" else ["name"]
            disclosure = disclosure_mark_disclosed(disclosure=disclosure, actor=legal2,
                                                   disclosed={c.pk: categories for c in clients})
        return disclosure
    return make


@pytest.fixture
def reported(request_made, clients):
    """2025 H1: six US subpoenas (one client each: 3 produced, 2 rejected, 1 open), two Chinese warrants about one
    client, and two requests of "other" types from Germany. 2025 H2: five US subpoenas about the same two clients
    (1 partly produced, 4 open)."""
    outcomes = ["disclosed", "partially-disclosed", "disclosed", "rejected", "rejected", "under-review"]
    for i, (client, outcome) in enumerate(zip(clients, outcomes, strict=True)):
        request_made([client], received_on=date(2025, 1 + i, 30 if i == 5 else 10), outcome=outcome)  # last: 30 June
    for _ in range(2):
        request_made([clients[0]], received_on=date(2025, 3, 1), country="CN", request_type="warrant", outcome="approved")
    request_made([clients[1]], received_on=date(2025, 4, 1), country="DE", request_type="illegal-activity")
    request_made([clients[2]], received_on=date(2025, 5, 1), country="DE", request_type="claims", outcome="rejected")
    request_made(clients[:2], received_on=date(2025, 7, 1), outcome="partially-disclosed")
    for month in (8, 9, 10, 12):
        request_made(clients[:2], received_on=date(2025, month, 2))


def published(periods):
    return [(p.half_year.key, r.country, r.process, r.requests, r.clients, r.produced_share, r.rejected_share)
            for p in periods for r in p.rows]


class TableReader(HTMLParser):
    """The cells of the report tables as a reader sees them (screen-reader-only text left out)."""

    def __init__(self):
        super().__init__()
        self.rows, self.period, self.in_body, self.cell, self.hidden = [], None, False, None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "transparency-table" in (attrs.get("class") or ""):
            self.period = attrs["data-period"]
        elif self.period and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([self.period])
        elif self.in_body and tag in ("th", "td"):
            self.cell = ""
        elif self.cell is not None and "visually-hidden" in (attrs.get("class") or ""):
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self.period, self.in_body = None, False
        elif tag in ("th", "td") and self.cell is not None:
            self.rows[-1].append(" ".join(self.cell.split()))
            self.cell = None
        elif tag == "span" and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if self.cell is not None and not self.hidden:
            self.cell += data


def page_rows(html):
    reader = TableReader()
    reader.feed(html)
    return reader.rows


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_counts_are_grouped_per_half_year_country_and_legal_process_with_small_numbers_banded(reported):
    assert published(transparency_report()) == [
        ("2025-H2", "US", "subpoena", "5", "0-4", 20, 0),
        ("2025-H1", "CN", "warrant", "0-4", "0-4", None, None),
        ("2025-H1", "DE", "other", "0-4", "0-4", None, None),
        ("2025-H1", "US", "subpoena", "6", "6", 50, 33),
    ]


def test_the_page_shows_every_row_with_its_banded_counts_and_shares_to_an_anonymous_visitor(client, reported):
    response = client.get(PAGE)
    assert response.status_code == 200
    rows = page_rows(response.content.decode())
    assert ["2025-H1", "United States of America (US)", "Subpoena or other legal process", "6", "6", "50%", "33%"] in rows
    assert ["2025-H1", "China (CN)", "Warrant", "0-4", "0-4", "—", "—"] in rows
    assert ["2025-H1", "Germany (DE)", "Other", "0-4", "0-4", "—", "—"] in rows
    assert ["2025-H2", "United States of America (US)", "Subpoena or other legal process", "5", "0-4", "20%", "0%"] in rows
    assert len(rows) == 4
    assert "Any count below 5 is shown as “0-4”" in response.content.decode()


def test_the_band_follows_the_configured_threshold(settings, reported):
    settings.TRANSPARENCY_BAND_BELOW = 2
    assert published(transparency_report()) == [
        ("2025-H2", "US", "subpoena", "5", "2", 20, 0),
        ("2025-H1", "CN", "warrant", "2", "0-1", 0, 0),
        ("2025-H1", "DE", "other", "2", "2", 0, 50),
        ("2025-H1", "US", "subpoena", "6", "6", 50, 33),
    ]
    settings.TRANSPARENCY_BAND_BELOW = 7
    assert published(transparency_report())[-1] == ("2025-H1", "US", "subpoena", "0-6", "0-6", None, None)


def test_the_page_and_the_csv_hold_no_personal_data(client, reported, clients):
    page = client.get(PAGE).content.decode()
    download = client.get(CSV).content.decode()
    for text in (page, download):
        for person in clients:
            assert person.email not in text and person.full_name not in text
        assert AUTHORITY not in text and REFERENCE not in text and "MOJ-1" not in text and "No legal basis" not in text


def test_the_csv_is_an_attachment_with_a_header_and_the_same_numbers_as_the_page(client, reported):
    response = client.get(CSV)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="fulfillmen-transparency-report.csv"'
    header, *rows = csv_rows(response)
    assert header[0] == "half_year" and "requests_received" in header and "clients_affected" in header
    from_csv = sorted([r[0], f"{r[2]} ({r[1]})", r[4], r[5], r[6], f"{r[7]}%" if r[7] else "—", f"{r[8]}%" if r[8] else "—"]
                      for r in rows)
    assert from_csv == sorted(page_rows(client.get(PAGE).content.decode()))


def test_the_chart_has_a_bar_per_half_year_with_banded_groups_drawn_as_a_labelled_band(client, reported):
    html = client.get(PAGE).content.decode()
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    assert re.search(r"<title id=\"transparency-chart-title\">.+</title>", svg)
    assert "January–June 2025: 6-14 requests received" in re.search(r"<desc .*?</desc>", svg, re.S).group(0)
    bars = dict(re.findall(r'<g class="chart__bar" data-period="([^"]+)">(.*?)</g>', svg, re.S))
    assert list(bars) == ["2025-H1", "2025-H2"]  # oldest first
    assert "chart__segment--band" in bars["2025-H1"] and ">6-14</text>" in bars["2025-H1"]
    assert "chart__segment--band" not in bars["2025-H2"] and ">5</text>" in bars["2025-H2"]
    assert "style=" not in svg  # the CSP allows no inline style


def test_one_half_year_can_be_chosen_for_the_page_and_the_csv(client, reported):
    rows = page_rows(client.get(PAGE, {"period": "2025-H2"}).content.decode())
    assert [row[0] for row in rows] == ["2025-H2"]
    response = client.get(CSV, {"period": "2025-H2"})
    assert [row[0] for row in csv_rows(response)[1:]] == ["2025-H2"]
    assert "fulfillmen-transparency-report-2025-H2.csv" in response["Content-Disposition"]


def test_a_bad_period_gets_a_clear_message_and_an_unknown_parameter_is_ignored(client, reported):
    response = client.get(PAGE, {"period": "abc"})
    assert response.status_code == 400
    assert "There is no reported half-year “abc”" in response.content.decode()
    assert client.get(CSV, {"period": "2024-H9"}).status_code == 400
    ignored = client.get(PAGE, {"year": "abc"})
    assert ignored.status_code == 200 and len(page_rows(ignored.content.decode())) == 4


def test_the_half_year_still_running_is_not_reported(client, request_made, clients):
    request_made(clients[:1], received_on=date(2026, 2, 20))
    html = client.get(PAGE).content.decode()
    assert "Nothing to report yet" in html and "<svg" not in html


def test_with_nothing_to_report_the_page_says_so_and_the_csv_has_only_its_header(client):
    html = client.get(PAGE).content.decode()
    assert "Nothing to report yet" in html and "<svg" not in html and "transparency-table" not in html
    assert len(csv_rows(client.get(CSV))) == 1


def test_the_page_costs_one_query_however_many_requests(client, reported, django_assert_max_num_queries):
    """Once the ended half-years are published (the first reading does it, a few statements per half-year whatever
    the number of requests), reading the report is one query."""
    with django_assert_max_num_queries(5 + 4 * 2):  # two half-years published
        transparency_report_publish()
    with django_assert_max_num_queries(1):
        client.get(PAGE)
    with django_assert_max_num_queries(1):
        client.get(CSV)


def test_every_page_links_to_the_transparency_report(client):
    assert f'href="{PAGE}"' in client.get(reverse("home")).content.decode()
