"""What never reads from the replica, whatever it holds: staff, the admin, the affiliate API, and anything a
non-disclosure requirement governs (a replica that has not yet replayed a gag order must not show its disclosure)."""

import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent.models import Purpose
from fulfillmen.db_router import REPLICA, ReplicaRefused, _TableGuard
from sharing.models import Affiliate, SharingRecord
from sharing.services import affiliate_key_create, sharing_records_write, sharing_records_write_to_recipient
from tests.dbrouting.conftest import PORTAL_PAGES, REPLICA_MARK, login, shown_from
from tests.sharing.conftest import bearer, engage, make_affiliate

pytestmark = pytest.mark.django_db(databases=["default", "replica"])

AUTHORITY = "Shenzhen Public Security Bureau"


def on_replica(client, url, **extra):
    with CaptureQueriesContext(connections[REPLICA]) as statements:
        response = client.get(url, **extra)
    return response, len(statements)


def test_staff_never_read_from_the_replica(client, privacy_officer, support_agent, marked_purpose):
    for user in (privacy_officer, support_agent):
        client.force_login(user)
        for name in PORTAL_PAGES:
            response, statements = on_replica(client, reverse(name))
            assert response.status_code in (302, 403) and statements == 0, (user, name)


def test_the_admin_never_reads_from_the_replica(client, privacy_officer, owner, marked_purpose):
    client.force_login(privacy_officer)
    for url in ["/admin/", "/admin/consent/purpose/", f"/admin/consent/purpose/{marked_purpose.pk}/change/",
                "/admin/consent/consentevent/", "/admin/sharing/sharingrecord/", "/admin/oversight/"]:
        response, statements = on_replica(client, url)
        assert response.status_code == 200 and statements == 0, url
        assert REPLICA_MARK not in response.content.decode()


def test_the_affiliate_api_never_reads_from_the_replica(client, owner, marked_purpose):
    partner = make_affiliate("Dropship Partner", kind=Affiliate.Kind.DROPSHIP_PARTNER, purpose="order-fulfilment",
                             fields=("name", "phone", "shipping_address"), country="CN")
    engage(partner, [owner])
    key = affiliate_key_create(affiliate=partner)[1]
    login(client, owner.user)  # even in a browser with a client's session
    response, statements = on_replica(client, "/api/v1/clients/", data={"purpose": "order-fulfilment"}, **bearer(key))
    assert response.status_code == 200 and statements == 0
    assert [c["name"] for c in response.json()["results"]] == [owner.full_name]
    assert SharingRecord.objects.filter(affiliate=partner, client=owner).count() == 1  # recorded on the primary


def test_a_disclosure_under_a_gag_order_never_shows_even_if_the_replica_has_not_replayed_the_order(
        client, owner, marked_purpose, replica_rows):
    ads = make_affiliate("Ads Network")
    sharing_records_write(affiliate=ads, purpose=Purpose.objects.get(code="promotional-sharing"), fields=["email"],
                          client_ids=[owner.pk], api_key=None, request_id=uuid.uuid4(),
                          at=timezone.now() - timedelta(days=2))
    sharing_records_write_to_recipient(recipient_name=AUTHORITY, recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["name"],
                                       client_ids=[owner.pk], request_id=uuid.uuid4(), at=timezone.now(),
                                       withheld_until=timezone.localdate() + timedelta(days=30))
    # The replica's copy: the same records, the disclosure not (yet) withheld there.
    replica_rows.copy("sharing_sharingrecord", SharingRecord.objects.filter(client=owner).values_list("pk", flat=True),
                      withheld_until=None)
    login(client, owner.user)
    dashboard = client.get(reverse("portal:dashboard"))
    assert shown_from(dashboard, marked_purpose) == "replica"  # the page did read the replica: what it may
    assert "Your data was sent outside Fulfillmen 1 time." in dashboard.content.decode()
    assert "Shenzhen" not in dashboard.content.decode()
    received = client.get(reverse("sharing:received")).content.decode()
    assert "Ads Network" in received and "Shenzhen" not in received


def test_the_replica_refuses_any_statement_naming_a_table_outside_the_allowlist(replica_rows):
    replica = connections[REPLICA]
    with replica.execute_wrapper(_TableGuard()), replica.cursor() as cursor:
        cursor.execute('SELECT COUNT(*) FROM "consent_purpose"')
        cursor.execute("SELECT EXTRACT(EPOCH FROM now()) FROM consent_purpose LIMIT 1")
        for statement in ['SELECT * FROM "sharing_sharingrecord"', 'SELECT 1 FROM "consent_purpose" INNER JOIN '
                          '"disclosures_disclosure" ON true', 'SELECT * FROM "consent_purpose" WHERE id IN '
                          '(SELECT purpose_id FROM "rights_legalhold")', "SELECT * FROM sharing_sharingrecord",
                          "SELECT * FROM public.consent_purpose", 'UPDATE "consent_purpose" SET code = code']:
            with pytest.raises(ReplicaRefused):
                cursor.execute(statement)
