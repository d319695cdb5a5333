"""The portal's kept pages and header under attack or failure (an attacker review of issue #20's caching)."""

import io

import pytest
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.urls import reverse

from accounts.templatetags import chrome
from consent.models import Channel, ConsentAction, ConsentState, Purpose
from consent.services import consent_record
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings):
    """The shared cache (Redis) unreachable: a port nothing listens on."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    caches._settings = None
    if hasattr(caches._connections, "default"):
        del caches._connections.default
    yield
    settings.CACHES = settings.CACHES  # restored by the fixture's teardown; drop the dead connection
    if hasattr(caches._connections, "default"):
        del caches._connections.default


@pytest.mark.parametrize("name", ["consent:choices", "consent:history", "sharing:received", "portal:dashboard"])
def test_a_portal_page_still_answers_when_the_cache_is_down(client, cache_down, name):
    """"Your choices" holds the withdraw buttons: a Redis outage must not take away the right to withdraw."""
    owner = make_client("owner@example.com")
    client.force_login(owner.user)
    response = client.get(reverse(name))
    assert response.status_code == 200


def test_a_withdrawal_and_the_history_work_while_the_cache_is_down(client, cache_down):
    owner = make_client("owner@example.com", country="US", region="US-CA", phone="+14155552671")
    promo = Purpose.objects.get(code="promotional-sharing")
    client.force_login(owner.user)
    assert ConsentState.objects.get(client=owner, purpose=promo).granted
    response = client.post(reverse("consent:change", args=[promo.code]), {"action": "withdraw"})
    assert response.status_code == 302
    assert not ConsentState.objects.get(client=owner, purpose=promo).granted
    assert "Withdrawn" in client.get(reverse("consent:history")).content.decode()


def _wsgi_get(path, **extra):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "QUERY_STRING": "",
               "HTTP_HOST": "testserver", "wsgi.errors": io.StringIO(), **extra}
    out = {}
    body = b"".join(WSGIHandler()(environ, lambda status, headers, exc_info=None: out.setdefault("s", status)))
    return out["s"], body.decode()


@pytest.mark.django_db(transaction=True)
def test_one_request_s_script_name_never_becomes_every_visitor_s_header(settings):
    settings.SECURE_SSL_REDIRECT = False
    chrome._rendered.clear()
    _wsgi_get("/cookies/", SCRIPT_NAME="//evil.example")  # as a proxy that forwards the header would pass it
    status, page = _wsgi_get("/cookies/")
    assert status.startswith("200")
    assert "evil.example" not in page[page.index("<header"):page.index("</footer>")]


def test_a_purpose_renamed_across_the_separator_shows_its_new_title_in_the_history(client):
    owner = make_client("owner@example.com", country="US", region="US-CA", phone="+14155552671")
    promo = Purpose.objects.get(code="promotional-sharing")
    consent_record(client=owner, purpose=promo, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    Purpose.objects.filter(pk=promo.pk).update(title_en="Alpha:Beta", title_zh_hans="Gamma")
    client.force_login(owner.user)
    assert "Alpha:Beta" in client.get(reverse("consent:history")).content.decode()
    Purpose.objects.filter(pk=promo.pk).update(title_en="Alpha", title_zh_hans="Beta:Gamma")
    page = client.get(reverse("consent:history")).content.decode()
    assert "Alpha:Beta" not in page and "Alpha" in page
