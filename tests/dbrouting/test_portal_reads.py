"""Which database answers a client's portal page: the replica only where it may, the primary everywhere else.

The replica here is a second database on the same server whose copy of one purpose's title differs from the
primary's ("… (replica copy)"): a page that shows that title was read from the replica.
"""

import time

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consent.models import ConsentAction
from tests.dbrouting.conftest import REPLICA_MARK, login, replica_statements, shown_from

pytestmark = pytest.mark.django_db(databases=["default", "replica"])


def test_your_choices_are_read_from_the_replica_for_a_logged_in_client(client, owner, marked_purpose):
    login(client, owner.user)
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "replica"
    assert shown_from(client.get(reverse("portal:dashboard")), marked_purpose) == "replica"


def test_a_client_who_just_changed_a_choice_reads_the_primary_until_the_pin_ends(client, owner, marked_purpose, settings):
    settings.DATABASE_REPLICA_PIN_SECONDS = 1.0
    login(client, owner.user)
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        response = client.post(reverse("consent:change", args=[marked_purpose.code]), {"action": ConsentAction.GRANT},
                               follow=True)
    assert len(on_replica) == 0  # the ledger append, and the page after it, on the primary
    assert shown_from(response, marked_purpose) == "primary"  # the page after the POST shows the write
    assert "was given at" in response.content.decode()
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "primary"
    time.sleep(1.1)
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "replica"


def test_a_write_on_the_primary_during_a_get_pins_the_session(client, owner, marked_purpose):
    client.force_login(owner.user)  # this address not yet observed: the first page records it, after the view
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "replica"
    assert owner.ip_observations.count() == 1
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "primary"


def test_anonymous_visitors_and_other_pages_never_reach_the_replica(client, owner, marked_purpose):
    for url in [reverse("home"), reverse("login"), reverse("consent:do_not_sell"), reverse("portal:dashboard")]:
        response, on_replica, _ = replica_statements(client, url)
        assert response.status_code in (200, 302) and on_replica == 0, url
    login(client, owner.user)
    for name in ["rights:data", "rights:erase", "rights:export"]:
        response, on_replica, _ = replica_statements(client, reverse(name))
        assert response.status_code == 200 and on_replica == 0, name


def test_history_and_who_received_read_what_they_may_from_the_replica(client, owner, marked_purpose, replica_rows):
    from consent.models import ConsentEvent

    replica_rows.copy("consent_consentevent", ConsentEvent.objects.filter(client=owner).values_list("pk", flat=True))
    login(client, owner.user)
    history = client.get(reverse("consent:history"))
    assert history.status_code == 200 and ConsentEvent.objects.filter(client=owner, purpose=marked_purpose).exists()
    assert marked_purpose.title_en + REPLICA_MARK in history.content.decode()  # the events' purposes, from the replica
    response, on_replica, _ = replica_statements(client, reverse("sharing:received"))
    assert response.status_code == 200 and on_replica >= 1


def test_a_page_whose_request_wrote_before_the_view_reads_that_write_from_the_primary(client, owner, marked_purpose):
    """A Global Privacy Control signal is honoured by middleware before the view: the same page shows it."""
    from consent.models import Channel, ConsentEvent
    from consent.services import consent_record
    from tests.sharing.conftest import make_affiliate, recipient_purpose

    sharing = recipient_purpose(make_affiliate("Ads Network"))
    consent_record(client=owner, purpose=sharing, action=ConsentAction.GRANT, channel=Channel.PORTAL)
    login(client, owner.user)
    response = client.get(reverse("consent:choices"), HTTP_SEC_GPC="1")
    assert ConsentEvent.objects.filter(client=owner, purpose=sharing, channel=Channel.GPC).exists()
    assert shown_from(response, marked_purpose) == "primary"
    assert response.context["gpc_honoured"]
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "primary"  # and pinned after it


def test_a_statement_that_would_bring_in_a_table_outside_the_allowlist_sends_the_page_to_the_primary(
        client, owner, marked_purpose, monkeypatch, caplog):
    """"Your choices" asks which purposes a business transfer offers this client in a subquery; were the transfer
    tables not allowed, that one statement must not reach the replica: the page is answered from the primary."""
    from fulfillmen import db_router

    monkeypatch.setattr(db_router, "_tables", db_router.replica_tables() - {"transfers_transfersubject"})
    login(client, owner.user)
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "primary"
    assert "not for the replica: transfers_transfersubject" in caplog.text


def test_a_history_page_rendered_from_the_replica_is_never_kept_for_later_requests(client, owner, marked_purpose,
                                                                                     replica_rows, settings):
    """The kept first page is checked against a version read on the primary: one rendered from the replica's rows
    (perhaps older) must not be served later as if it were the primary's."""
    from consent.models import ConsentEvent

    replica_rows.copy("consent_consentevent", ConsentEvent.objects.filter(client=owner).values_list("pk", flat=True))
    login(client, owner.user)
    assert shown_from(client.get(reverse("consent:history")), marked_purpose) == "replica"
    settings.DATABASE_ROUTERS = []  # the replica gone: the primary answers, and its own rows must show
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "fulfillmen.db_router.ReplicaPinMiddleware"]
    assert shown_from(client.get(reverse("consent:history")), marked_purpose) == "primary"
