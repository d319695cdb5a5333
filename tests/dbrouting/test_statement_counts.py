"""Statements per portal page on the primary, without and with the replica (docs/performance.md, "Read replica").

The replica is given the primary's rows of every table it may be asked about (a replica with no lag): the pages find
the same rows on both, so the statements must be the same ones, some of them moved.
"""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import Channel, ConsentAction, Purpose
from consent.services import consent_record
from fulfillmen import db_router
from sharing.services import sharing_records_write
from tests.dbrouting.conftest import PORTAL_PAGES, login, replica_statements
from tests.sharing.conftest import make_affiliate, recipient_purpose

pytestmark = pytest.mark.django_db(databases=["default", "replica"])


@pytest.fixture
def busy_client(owner):
    """A client with a history: consent given, withdrawn and given again to an affiliate, five records sent to it."""
    ads = make_affiliate("Ads Network")
    promo = Purpose.objects.get(code="promotional-sharing")
    for action in (ConsentAction.GRANT, ConsentAction.WITHDRAW, ConsentAction.GRANT):
        consent_record(client=owner, purpose=recipient_purpose(ads), action=action, channel=Channel.PORTAL)
    for days in range(5):
        sharing_records_write(affiliate=ads, purpose=promo, fields=["email"], client_ids=[owner.pk], api_key=None,
                              request_id=uuid.uuid4(), at=timezone.now() - timedelta(days=days))
    return owner


def test_the_replica_takes_statements_off_the_primary_and_adds_none(client, busy_client, settings, replica_rows):
    """The same statements, some moved: on the primary with the replica, plus those on the replica less its one
    health check, make the primary's count without it (printed: docs/performance.md has the table). The history's
    kept first page is off, or the second pass would be answered from it and compare nothing."""
    settings.PORTAL_FRAGMENT_SECONDS = 0
    replica_rows.mirror()
    login(client, busy_client.user)
    counts = {}
    for name in PORTAL_PAGES:
        url = reverse(name)
        db_router.replica_health_forget()
        response, on_replica, on_primary = replica_statements(client, url)
        assert response.status_code == 200
        counts[name] = {"primary_with_replica": on_primary, "replica": on_replica}
    settings.DATABASE_ROUTERS = []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "fulfillmen.db_router.ReplicaPinMiddleware"]
    for name in PORTAL_PAGES:
        response, on_replica, on_primary = replica_statements(client, reverse(name))
        assert response.status_code == 200 and on_replica == 0
        counts[name]["primary_without_replica"] = on_primary
    print("statements per page:", counts)
    for name, c in counts.items():
        assert c["primary_with_replica"] + c["replica"] - 1 == c["primary_without_replica"], (name, c)
    for name in ["portal:dashboard", "consent:choices", "consent:history"]:
        assert counts[name]["primary_with_replica"] < counts[name]["primary_without_replica"], (name, counts[name])
