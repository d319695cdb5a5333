from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sharing.keys import key_hash
from sharing.models import ApiKey

from .conftest import bearer, make_affiliate

pytestmark = pytest.mark.django_db


def create_key(*args, **options):
    out = StringIO()
    call_command("create_affiliate_key", *args, stdout=out, **options)
    return out.getvalue()


def test_the_key_alone_on_the_last_line_works_against_the_api(client, ads):
    out = create_key("Ads Network", "--name", "nightly sync")
    lines = out.strip().splitlines()
    key = lines[-1]
    stored = ApiKey.objects.get(affiliate=ads)
    assert key.startswith(f"fpp_{stored.prefix}_") and stored.key_hash == key_hash(key) and stored.name == "nightly sync"
    assert stored.prefix in lines[0] and "does not expire" in lines[0] and stored.expires_at is None
    response = client.get("/api/v1/agreement/", **bearer(key))
    assert response.status_code == 200 and response.json()["affiliate"] == "Ads Network"


def test_expiry_is_set_from_the_number_of_days(ads):
    out = create_key("Ads Network", "--expires-in-days", "30")
    stored = ApiKey.objects.get(affiliate=ads)
    expected = timezone.now() + timedelta(days=30)
    assert abs(stored.expires_at - expected) < timedelta(minutes=1)
    assert "expires 20" in out.splitlines()[0]


def test_an_unknown_affiliate_is_a_clear_error_naming_it_and_the_known_ones(ads, dropship):
    known = r"Known affiliates: 'Ads Network', 'Dropship Partner'\."
    with pytest.raises(CommandError, match=r"No affiliate named 'Ads Netwerk'\. " + known):
        create_key("Ads Netwerk")
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("bad", ["0", "-5", "soon", "1.5"])
def test_expires_in_days_must_be_a_positive_whole_number(ads, bad):
    with pytest.raises(CommandError, match="--expires-in-days"):
        create_key("Ads Network", "--expires-in-days", bad)
    assert not ApiKey.objects.exists()


def test_options_passed_from_code_are_checked_too(ads):
    with pytest.raises(CommandError, match="--expires-in-days"):
        create_key("Ads Network", expires_in_days=0)


def test_an_inactive_affiliate_gets_no_key(ads):
    retired = make_affiliate("Retired Partner")
    retired.active = False
    retired.save(update_fields=["active"])
    with pytest.raises(CommandError, match="inactive"):
        create_key("Retired Partner")
    assert not ApiKey.objects.exists()
