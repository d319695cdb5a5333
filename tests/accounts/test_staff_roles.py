import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import IPObservation
from accounts.services import ip_observation_record

pytestmark = pytest.mark.django_db


def test_the_three_staff_groups_exist_with_their_permissions():
    groups = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert {"Privacy officers", "Legal", "Support agents"} <= set(groups)
    assert {"view_client", "change_client"} <= groups["Support agents"]
    assert "change_client" not in groups["Legal"]
    assert "view_ipobservation" in groups["Legal"]


def test_support_agent_finds_a_client_by_phone_in_the_admin(client, support_agent, owner, outsider):
    client.force_login(support_agent)
    response = client.get(reverse("admin:accounts_client_changelist"), {"q": "+4915123456789"})
    page = response.content.decode()
    assert response.status_code == 200 and owner.email in page and outsider.email not in page


def test_a_client_login_cannot_open_the_admin(client, owner):
    client.force_login(owner.user)
    response = client.get(reverse("admin:accounts_client_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_ip_observations_are_read_only_in_the_admin(client, privacy_officer, owner):
    ip_observation_record(client=owner, ip_address="198.51.100.23", context=IPObservation.Context.LOGIN)
    client.force_login(privacy_officer)
    page = client.get(reverse("admin:accounts_client_change", args=[owner.pk])).content.decode()
    assert "198.51.100.23" in page
    assert 'name="ip_observations-0-ip_address"' not in page  # shown as text, never as an input
