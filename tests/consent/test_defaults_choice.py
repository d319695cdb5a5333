"""Defaults as data (issue #18 item 13): the operator may read PIPL Art. 3 as reaching every client, since all the
processing happens in China, and choose opt-in everywhere; the choice is rules, applies to clients who arrive
afterwards and rewrites no event."""

import io

import pytest
from django.core.management import CommandError, call_command

from consent.models import ConsentAction, ConsentDefaultRule, ConsentEvent, ConsentState
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def state(client, code="promotional-sharing"):
    return ConsentState.objects.get(client=client, purpose__code=code).granted


def run(*args):
    out = io.StringIO()
    call_command("consent_defaults", *args, stdout=out)
    return out.getvalue()


def test_the_shipped_defaults_are_opt_in_for_eu_uk_and_china_and_opt_out_for_california():
    printed = run()
    assert "eea\tall consent purposes\topt-in" in printed and "cn\tall consent purposes\topt-in" in printed
    assert "us-ca\tall consent purposes\topt-out" in printed
    assert state(make_client("ca@example.com", country="US", region="US-CA", phone="")) is True
    assert state(make_client("de@example.com", country="DE", phone="")) is False


def test_opt_in_everywhere_makes_new_clients_of_every_jurisdiction_start_withdrawn_and_rewrites_no_event():
    before = make_client("early@example.com", country="US", region="US-CA", phone="")
    events_before = list(ConsentEvent.objects.order_by("pk").values_list("pk", "action", "entry_hash"))
    assert "rule(s) changed to opt-in" in run("--opt-in-everywhere")
    assert not ConsentDefaultRule.objects.filter(granted_by_default=True).exists()
    after = make_client("late@example.com", country="US", region="US-CA", phone="")
    other = make_client("br@example.com", country="BR", phone="")
    assert (state(after), state(other), state(before)) == (False, False, True)
    assert list(ConsentEvent.objects.filter(pk__in=[e[0] for e in events_before]).order_by("pk")
                .values_list("pk", "action", "entry_hash")) == events_before
    assert ConsentEvent.objects.filter(client=after, purpose__code="promotional-sharing").get().action == ConsentAction.WITHDRAW
    assert "PIPL Art. 3" in ConsentDefaultRule.objects.get(jurisdiction="us-ca", purpose=None).note


def test_choosing_opt_in_everywhere_twice_changes_nothing_the_second_time():
    run("--opt-in-everywhere")
    assert "Every rule was already opt-in." in run("--opt-in-everywhere")


def test_an_unknown_argument_is_refused_and_changes_no_rule():
    with pytest.raises(CommandError):
        call_command("consent_defaults", "--opt-in-anywhere")
    assert ConsentDefaultRule.objects.filter(jurisdiction="us-ca", granted_by_default=True).exists()
