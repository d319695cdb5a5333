"""Issue #16, finding 2: the public transparency report counts no withheld disclosure, and a half-year, once
published, never changes — so no reader can infer a one-request change from two readings of the report."""

from datetime import date

import pytest
import time_machine
from django.core.cache import cache

from disclosures.models import TransparencyEntry, TransparencyPeriod
from disclosures.report import transparency_report
from disclosures.report_publish import _PUBLISHED_THROUGH, transparency_report_publish
from disclosures.services import disclosure_record
from tests.conftest import make_client
from tests.threads import run_in_parallel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def early_2026():
    with time_machine.travel("2026-03-01 10:00 +0800", tick=False):
        yield


@pytest.fixture
def requested(legal):
    clients = iter([make_client(f"reported{i}@example.com", phone=f"+49 151 2345678{i}") for i in range(8)])

    def make(*, received_on, withhold_until=None, country="US"):
        return disclosure_record(recorded_by=legal, clients=[next(clients)], authority_name="Some Authority",
                                 authority_country=country, authority_kind="police", request_type="subpoena",
                                 reference_number="R-1", received_on=received_on, categories_requested=["name"],
                                 withhold_until=withhold_until,
                                 withhold_reference="Order" if withhold_until else "")
    return make


def counts(**kwargs):
    return {(p.half_year.key, r.country): r.requests for p in transparency_report(**kwargs) for r in p.rows}


def test_a_request_whose_notice_is_withheld_is_counted_in_no_half_year(requested):
    requested(received_on=date(2025, 3, 1))
    requested(received_on=date(2025, 3, 2), withhold_until=date(2026, 5, 1), country="CN")
    assert counts() == {("2025-H1", "US"): "0-4"}


def test_a_request_released_later_enters_the_first_half_year_published_after_its_release(settings, requested):
    settings.TRANSPARENCY_BAND_BELOW = 1  # exact counts, to see where each request goes
    requested(received_on=date(2025, 3, 1))
    requested(received_on=date(2025, 3, 2), withhold_until=date(2025, 9, 1), country="CN")  # released in 2025-H2
    requested(received_on=date(2025, 3, 3), withhold_until=date(2026, 5, 1), country="DE")  # still withheld
    before = counts()
    assert before == {("2025-H1", "US"): "1", ("2025-H2", "CN"): "1"}
    with time_machine.travel("2026-07-02 10:00 +0800", tick=False):
        after = counts()
    assert after == {**before, ("2026-H1", "DE"): "1"}, "2025 reads as it did; the released request is in 2026-H1"


def test_a_published_half_year_never_changes(settings, requested, legal2):
    settings.TRANSPARENCY_BAND_BELOW = 1
    requested(received_on=date(2025, 3, 1))
    first = counts()
    requested(received_on=date(2025, 4, 1))  # recorded late, received in a half-year already published
    cache.delete(_PUBLISHED_THROUGH)  # not even a fresh look at the database changes a published half-year
    assert counts() == first == {("2025-H1", "US"): "1"}
    with time_machine.travel("2026-07-02 10:00 +0800", tick=False):
        assert counts() == {("2025-H1", "US"): "1", ("2026-H1", "US"): "1"}


@pytest.mark.django_db(transaction=True)
def test_readers_publishing_at_the_same_moment_count_each_request_once(requested):
    for day in (1, 2, 3):
        requested(received_on=date(2025, 3, day))
    run_in_parallel([lambda: transparency_report_publish(today=date(2026, 3, 1)) for _ in range(4)])
    assert TransparencyPeriod.objects.count() == 2  # 2025-H1 and 2025-H2
    assert TransparencyEntry.objects.count() == 3
