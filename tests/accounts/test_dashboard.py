import pytest
from django.urls import reverse

from accounts.models import Address, IPObservation
from accounts.services import address_add, ip_observation_record

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_client_sees_their_own_data_and_nobody_elses(client, owner, outsider):
    address_add(client=owner, kind=Address.Kind.RESIDENTIAL, country="DE", line1="Unter den Linden 1", city="Berlin",
                postcode="10117")
    address_add(client=outsider, kind=Address.Kind.OFFICE, country="FR", line1="1 Rue de Rivoli", city="Paris", postcode="75001")
    ip_observation_record(client=outsider, ip_address="192.0.2.99", context=IPObservation.Context.LOGIN)
    client.force_login(owner.user)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert owner.email in page and "+4915123456789" in page and "Unter den Linden 1" in page
    assert outsider.email not in page and "Rue de Rivoli" not in page and "192.0.2.99" not in page


def test_staff_are_sent_to_the_admin_not_the_portal(client, support_agent):
    client.force_login(support_agent)
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_dashboard_query_count_does_not_grow_with_addresses_and_ips(client, owner, django_assert_max_num_queries):
    for n in range(30):
        address_add(client=owner, kind=Address.Kind.OFFICE, country="DE", line1=f"Street {n}", city="Berlin")
        ip_observation_record(client=owner, ip_address=f"192.0.2.{n + 1}", context=IPObservation.Context.PORTAL)
    client.force_login(owner.user)
    # session, user, client, addresses, IPs, consent states (with last events), purposes,
    # and the first visit's IP observation (client id, upsert, session save in a savepoint),
    # the newest sharing record with the count of all (one query),
    # and the pending material policy version this client has not answered (one query)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 200 and "Street 29" in response.content.decode()
