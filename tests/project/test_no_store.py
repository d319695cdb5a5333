"""No copy of a page carrying personal data is kept by a browser or a proxy (issue #16.11).

Every URL of the permission matrix, walked as a logged-in client (the portal), a privacy officer (the admin and the
oversight pages) and an affiliate's API key (the API, its errors included), answers with `Cache-Control: no-store`
and a Vary on what identified the caller; so does an export download. Anonymous visitors' public pages (the policy,
the transparency report) are not forced to no-store: they may stay cacheable.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils.cache import patch_cache_control

from accounts.no_store import PersonalResponsesNotStoredMiddleware
from rights.models import DataExport
from tests.conftest import PASSWORD
from tests.project.test_permission_matrix import LOGOUTS, browser_for, request_path, table

pytestmark = pytest.mark.django_db

# role -> the request header that identified it (an API key identifies its caller on the API only)
CALLERS = {"client_a": "Cookie", "privacy": "Cookie", "affiliate_a": "Authorization"}
# The public consent log (issue #17): the same bytes for everyone, logged in or not, so deliberately cacheable
# (a published checkpoint or proof never changes). The test below proves they are the same for everyone.
SAME_FOR_EVERYONE = {"consent_log:checkpoint", "consent_log:key", "consent_log:checkpoints", "consent_log:inclusion",
                     "consent_log:consistency", "consent_log:verifier", "consent_log:checkpoints unpublished",
                     "consent_log:inclusion beyond"}
# Load balancers' probes: never stored either, and the same for everyone (tests/project/test_health.py), so a cache
# needs no Vary to tell callers apart.
PROBES = {"healthz", "readyz"}


def send(world, browser, key, row):
    """The matrix's request for one entry (tests/project/test_permission_matrix.py::check)."""
    path = request_path(key, row, world.ids)
    query = row.query(world.ids) if row.query else {}
    if row.json:
        return browser.post(path, row.json(world.ids), content_type="application/json")
    if row.method == "POST":
        return browser.post(path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""), {})
    return browser.get(path, query)


def stored(response) -> bool:
    return "no-store" not in response.get("Cache-Control", "")


@pytest.mark.parametrize("role", CALLERS)
def test_every_page_and_api_answer_to_a_logged_in_user_or_a_key_is_never_stored(world, role):
    browser = browser_for(world, role)
    kept = []
    for key, row in table().items():
        if key in SAME_FOR_EVERYONE:
            continue
        response = send(world, browser, key, row)
        varies = (CALLERS[role] in response.get("Vary", "") or not key.startswith("api:") and role == "affiliate_a"
                  or key in PROBES)
        if stored(response) or not varies:
            kept.append(f"{row.method} {key} ({response.status_code}): Cache-Control {response.get('Cache-Control')!r}, "
                        f"Vary {response.get('Vary')!r}")
        if key in LOGOUTS:
            browser = browser_for(world, role)
    assert not kept, f"{len(kept)} response(s) a cache may keep:\n" + "\n".join(kept)


@pytest.mark.parametrize("role", CALLERS)
def test_the_public_consent_log_answers_a_logged_in_user_with_what_it_answers_anyone(world, client, role):
    from transparency_log.checkpoints import checkpoint_publish

    checkpoint_publish()
    browser = browser_for(world, role)
    for key in SAME_FOR_EVERYONE:
        row = table()[key]
        anonymous, known = send(world, client, key, row), send(world, browser, key, row)
        assert anonymous.status_code == known.status_code, key
        assert anonymous.content == known.content, key
        assert known["Cache-Control"].startswith("public") or known.status_code >= 400, key  # errors: no-store
        assert not known.cookies and "Cookie" not in known.get("Vary", ""), key


def test_an_export_download_is_never_stored(client, owner, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("rights:export"), {"password": PASSWORD})
    export = DataExport.objects.get(client=owner, status="ready")
    response = client.get(reverse("rights:export_download", args=[export.public_id]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert not stored(response)


def test_a_form_sent_anonymously_is_not_stored_since_the_answer_repeats_what_was_typed(client):
    response = client.post(reverse("password_reset"), {"email": "typed.name@example"})
    assert response.status_code == 200 and b"typed.name@example" in response.content  # the form again, with the error
    assert not stored(response)


@pytest.mark.parametrize("name, kwargs", [
    ("home", None), ("policy:current", None), ("policy:versions", None), ("policy:version", {"label": "label"}),
    ("policy:markdown", {"label": "label"}), ("policy:diff", None), ("transparency:report", None), ("cookies", None),
])
def test_an_anonymous_visitor_s_public_page_is_not_forced_to_no_store(world, client, name, kwargs):
    path = reverse(name, kwargs=kwargs and {k: world.ids[v] for k, v in kwargs.items()})
    response = client.get(path)
    assert response.status_code == 200
    assert stored(response)


def test_a_cache_control_the_view_chose_is_kept():
    """A public page the same for everyone may say it is cacheable (a later transparency log will): the middleware
    does not overrule it, for anyone."""
    def cacheable_view(request):
        response = HttpResponse("the same for everyone")
        patch_cache_control(response, public=True, max_age=300)
        return response

    request = RequestFactory().get("/transparency/log/", HTTP_AUTHORIZATION="Bearer fpp_key")
    request.user = AnonymousUser()
    response = PersonalResponsesNotStoredMiddleware(cacheable_view)(request)
    assert response["Cache-Control"] == "public, max-age=300"
