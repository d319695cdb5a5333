"""Requests without an account (/requests/…) and the portal's "contact us" (/portal/data/questions/new/).

Nobody needs an account to make a request (11 CCR §7060(d)): the public form queues it as unverified and e-mails a
link; following the link verifies the address and opens the request. Identity beyond the address is for staff.
The form is anonymous, so it is rate-limited per IP address and per e-mail address (Django's cache, fixed window).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.ip import request_ip
from accounts.rate_limits import limit_reached
from consent.views import client_required

from ..agents import agent_request_submit
from ..forms import ClientQuestionForm, PublicRequestForm, service_error_add
from ..intake import client_question_ask, public_request_submit, public_request_verify
from ..models import DataSubjectRequest
from ..services import request_reference
from ..verification import VALID_FOR, VerificationLinkError

Status = DataSubjectRequest.Status

# Submissions allowed per window: per IP address (every attempt) and per e-mail address (valid submissions).
LIMIT_PER_IP = 10
LIMIT_PER_EMAIL = 3
LIMIT_WINDOW_SECONDS = 3600


def _limit_reached(scope: str, value: str, limit: int) -> bool:
    """Count one submission for `value` in this window; True once more than `limit` were made."""
    return limit_reached(namespace="rights:public-request", scope=scope, value=value, limit=limit,
                         window_seconds=LIMIT_WINDOW_SECONDS)


def _too_many(request, form):
    form.add_error(None, _("Too many requests were sent from here or for this e-mail address. Please try again in an "
                           "hour, or write to privacy@fulfillmen.com."))
    return render(request, "rights/public/request_form.html", {"form": form}, status=429)


def _submit(data) -> DataSubjectRequest:
    if data["as_agent"]:
        return agent_request_submit(agent_name=data["name"], agent_email=data["email"], client_name=data["client_name"],
                                    client_email=data["client_email"], kind=data["kind"], details=data["details"],
                                    permission=data["permission"])
    return public_request_submit(name=data["name"], email=data["email"], kind=data["kind"], details=data["details"])


@never_cache
@require_http_methods(["GET", "POST"])
def request_form(request):
    if request.method != "POST":
        return render(request, "rights/public/request_form.html", {"form": PublicRequestForm()})
    form = PublicRequestForm(request.POST, request.FILES)
    if _limit_reached("ip", request_ip(request) or "unknown", LIMIT_PER_IP):
        form.is_valid()  # show what was typed, but write nothing
        return _too_many(request, form)
    if form.is_valid():
        data = form.cleaned_data
        addresses = [data["email"]] + ([data["client_email"]] if data["as_agent"] else [])
        if any([_limit_reached("email", address.lower(), LIMIT_PER_EMAIL) for address in addresses]):
            return _too_many(request, form)
        try:
            dsr = _submit(data)
        except ValidationError as exc:
            service_error_add(form, exc, rename={"requester_name": "name", "requester_email": "email"})
        else:
            # The same answer whether or not the client's address is an account's (no enumeration).
            request.session["rights_public_request"] = {
                "email": data["client_email"] if data["as_agent"] else data["email"], "agent": data["as_agent"],
                "verify": dsr.status in (Status.UNVERIFIED, Status.AWAITING_CLIENT), "reference": request_reference(dsr)}
            return redirect("rights:public_request_sent")
    return render(request, "rights/public/request_form.html", {"form": form}, status=400)


@never_cache
def request_sent(request):
    sent = request.session.pop("rights_public_request", None) or {"email": "", "verify": True, "reference": "",
                                                                   "agent": False}
    return render(request, "rights/public/request_sent.html", {**sent, "hours": int(VALID_FOR.total_seconds() // 3600)})


@never_cache
def request_verify(request, token):
    try:
        dsr, verified_now = public_request_verify(token=token)
    except VerificationLinkError as exc:
        return render(request, "rights/public/verify_failed.html", {"expired": exc.expired}, status=400)
    return render(request, "rights/public/verify_done.html", {
        "dsr": dsr, "verified_now": verified_now, "reference": request_reference(dsr)})


@require_http_methods(["GET", "POST"])
@client_required
def question_new(request, client):
    form = ClientQuestionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            dsr = client_question_ask(client=client, subject=form.cleaned_data["subject"], body=form.cleaned_data["body"])
        except ValidationError as exc:
            service_error_add(form, exc)
        else:
            messages.success(request, _("Your question was sent (reference %(reference)s). We answer by e-mail by "
                                        "%(due)s at the latest.") % {"reference": request_reference(dsr),
                                                                   "due": formats.date_format(dsr.due_on, "DATE_FORMAT")})
            return redirect("portal:dashboard")
    return render(request, "rights/public/question_form.html", {"form": form, "client": client},
                  status=400 if form.errors else 200)


urlpatterns = [
    path("requests/new/", request_form, name="public_request_new"),
    path("requests/sent/", request_sent, name="public_request_sent"),
    path("requests/verify/<str:token>/", request_verify, name="public_request_verify"),
    path("portal/data/questions/new/", question_new, name="question_new"),
]
