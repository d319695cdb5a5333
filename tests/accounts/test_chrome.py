"""Every page's header and footer are rendered once and reused (accounts/templatetags/chrome.py): each visitor still
sees their own kind of navigation, their own CSRF token and their own page's path — never someone else's."""

import re

import pytest
from django.test import Client as Browser
from django.urls import reverse

from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def header(response) -> str:
    page = response.content.decode()
    return page[page.index("<header"):page.index("</header>")]


def test_a_client_never_gets_the_staff_navigation_rendered_for_someone_before(client, support_agent):
    owner = make_client("owner@example.com")
    client.force_login(support_agent)
    assert "Staff admin" in header(client.get(reverse("cookies")))
    client.force_login(owner.user)
    shown = header(client.get(reverse("cookies")))
    assert "Staff admin" not in shown and "Your choices" in shown
    assert owner.full_name not in shown and owner.email not in shown
    client.logout()
    anonymous = header(client.get(reverse("cookies")))
    assert "Log in" in anonymous and "Log out" not in anonymous and "Your choices" not in anonymous


def test_the_current_page_is_marked_in_the_navigation_and_the_footer(client):
    owner = make_client("owner@example.com")
    client.force_login(owner.user)
    received = header(client.get(reverse("sharing:received")))
    assert f'<a href="{reverse("sharing:received")}" aria-current="page">' in received
    assert f'<a href="{reverse("consent:choices")}" aria-current="page">' not in received
    page = client.get(reverse("cookies")).content.decode()
    assert f'<a href="{reverse("cookies")}" aria-current="page">' in page
    assert "aria-current" not in header(client.get(reverse("cookies")))


def test_each_response_carries_a_working_csrf_token_of_its_own(db):
    owner = make_client("owner@example.com")
    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(owner.user)
    shown = header(browser.get(reverse("cookies")))
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', shown))
    assert len(tokens) == 1
    other = Browser()
    other.force_login(make_client("other@example.com").user)
    assert tokens.isdisjoint(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', header(other.get(reverse("cookies")))))
    response = browser.post(reverse("logout"), {"csrfmiddlewaretoken": tokens.pop()})
    assert response.status_code == 302 and "_auth_user_id" not in browser.session


def test_the_language_form_returns_to_this_page_escaped(client):
    response = client.get(reverse("cookies"), {"q": '"><script>x</script>'})
    shown = header(response)
    assert '<input type="hidden" name="next" value="/cookies/?q=%22%3E%3Cscript%3Ex%3C%2Fscript%3E">' in shown
    assert 'value="/cookies/?q=' in shown and "<script>" not in shown
    assert 'name="next" value="/policy/' not in shown
    assert 'name="next" value="/transparency/' in header(client.get(reverse("transparency:report")))


def test_each_language_gets_its_own_header(client):
    english = header(client.get(reverse("cookies")))
    client.cookies["django_language"] = "zh-hans"
    chinese = header(client.get(reverse("cookies")))
    assert "Log in" in english and "Log in" not in chinese
    assert '<option value="zh-hans" lang="zh-hans" selected>' in chinese
