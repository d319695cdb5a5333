"""The portal's front page and the client's dashboard, which each app's pages hang from."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.replica import replica_reads
from accounts.selectors import client_of_user
from consent.policy_answers import POLICY_ACCEPTANCE, material_versions_pending, pending_material_version
from consent.views import choices_for, gpc_note_due
from sharing.views import received_summary
from transfers.views import received_page_announcements

from .dashboard_page import dashboard_body


def home(request):
    return render(request, "home.html")


def _pending_policy(client):
    """The material policy change this client still has to answer, if any. Usually none is pending at all: that
    is one plain query, and only then is the client's answers' subquery planned and run."""
    return pending_material_version(client=client) if material_versions_pending().exists() else None


@replica_reads
@login_required
def dashboard(request):
    client = client_of_user(user=request.user)
    if client is None:
        # Staff and other logins without a client record work in the admin, not the portal.
        return redirect("admin:index") if request.user.is_staff else render(request, "portal/no_client.html", status=403)
    # The body is kept rendered while nothing on it changed (fulfillmen/dashboard_page.py); these are its queries.
    return render(request, "portal/dashboard.html", {"body": dashboard_body(request, client=client, context=lambda: {
        "client": client,
        # Two plain queries (the ordering of each model); a prefetch cost as much again in Python.
        "addresses": list(client.addresses.all()),
        "observations": list(client.ip_observations.all()),
        # Answers to policy changes are asked for in the notice box below, not among the consent toggles.
        # Top-level purposes only, each with its own state: who each child purpose's recipient is is not shown here.
        "consent_choices": [c for c in choices_for(client=client, with_recipients=False)
                            if c.rests_on_consent and c.purpose.code != POLICY_ACCEPTANCE],
        "pending_policy": _pending_policy(client),
        "received": received_summary(client=client),
        "transfer_announcements": received_page_announcements(client),
        "gpc_honoured": gpc_note_due(request, client=client),
    })})
