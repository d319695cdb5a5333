"""consent.offers: with no app restricting a purpose, every client is offered every purpose, as before."""

import pytest

from consent import offers
from consent.selectors import purposes_with_state
from consent.services import consent_defaults_record
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def test_with_no_app_restricting_a_purpose_every_client_is_offered_every_purpose(monkeypatch, owner):
    offered = [purpose.code for purpose, _state in purposes_with_state(client=owner)]
    monkeypatch.setattr(offers, "_registered", [])
    assert [purpose.code for purpose, _state in purposes_with_state(client=owner)] == offered
    assert "marketing-messages" in offered
    late = make_client("late@example.com")
    assert consent_defaults_record(client=late) == []  # every purpose already has its sign-up default
    assert offers.offer_check(client_ids=[late.pk])(late.pk, 1)
