"""The portal's front page and the client's dashboard, which each app's pages hang from."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.selectors import client_for_user
from consent.policy_answers import POLICY_ACCEPTANCE, pending_material_version
from consent.views import choices_for, gpc_note_due
from sharing.views import received_summary


def home(request):
    return render(request, "home.html")


@login_required
def dashboard(request):
    client = client_for_user(user=request.user)
    if client is None:
        # Staff and other logins without a client record work in the admin, not the portal.
        return redirect("admin:index") if request.user.is_staff else render(request, "portal/no_client.html", status=403)
    return render(request, "portal/dashboard.html", {
        "client": client,
        # Answers to policy changes are asked for in the notice box below, not among the consent toggles.
        "consent_choices": [c for c in choices_for(client=client)
                            if c.rests_on_consent and c.purpose.code != POLICY_ACCEPTANCE],
        "pending_policy": pending_material_version(client=client),
        "gpc_honoured": gpc_note_due(request, client=client),
        "received": received_summary(client=client),
    })
