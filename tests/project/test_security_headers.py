"""Security headers on every kind of response: pages, API answers and errors, the admin, static files, 404s."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

RESPONSES = {
    "home page": lambda c: c.get(reverse("home"), secure=True),
    "log-in form": lambda c: c.get(reverse("login"), secure=True),
    "admin log-in": lambda c: c.get("/admin/login/", secure=True),
    "API error (no key)": lambda c: c.get("/api/v1/clients/?purpose=promotional-sharing", secure=True),
    "API schema": lambda c: c.get("/api/schema/", secure=True),
    "not found": lambda c: c.get("/no-such-page/", secure=True),
    "a form's error": lambda c: c.post(reverse("login"), {"username": "x"}, secure=True),
}


@pytest.mark.parametrize("kind", RESPONSES)
def test_every_kind_of_response_carries_the_security_headers(client, kind):
    response = RESPONSES[kind](client)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_plain_http_is_sent_to_https_in_production(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("home"))
    assert response.status_code == 301 and response["Location"].startswith("https://")
