"""Sign-up is confirm-first (issue #16.9): a test that makes an account through the form follows the e-mailed link."""

import re
from urllib.parse import urlsplit

from django.core import mail
from django.urls import reverse

from notify.models import OutboundMessage

LINK = re.compile(r"\S+/accounts/signup/confirm/[^/\s]+/")


def signup_link(email: str) -> str:
    """The latest sign-up link sent to `email`: from the sent mail, or from its outbox row while it waits to be sent."""
    bodies = [m.body for m in mail.outbox if email.lower() in [to.lower() for to in m.to]]
    bodies += OutboundMessage.objects.filter(kind="signup-confirm", to__iexact=email).exclude(body="") \
        .order_by("pk").values_list("body", flat=True)
    links = [match.group(0) for body in bodies if (match := LINK.search(body))]
    assert links, f"no sign-up link was sent to {email}"
    return links[-1]


def signup_link_path(email: str) -> str:
    return urlsplit(signup_link(email)).path


# The link's answer to "are you N or older?", where the client's country has an age rule (accounts/minors.py); a link
# without the question ignores it.
OF_AGE = {"age": "of-age"}


def sign_up_and_confirm(client, data: dict, **request):
    """The form, then the link with the password chosen (and "of age" where asked): the response of the link (a
    redirect to the dashboard)."""
    response = client.post(reverse("signup"), data, **request)
    assert response.status_code == 302 and response["Location"] == reverse("signup_sent"), response.status_code
    return client.post(signup_link_path(data["email"]), {"password": data["password1"], **OF_AGE}, **request)
