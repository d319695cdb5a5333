"""The client's answer to an authorised agent's request (/requests/agent/<token>/), the appeal of a refusal by the
e-mailed link (/requests/appeal/<token>/), and a client's own request page in the portal with its appeal button
(/portal/data/requests/<id>/).

The links' GET pages change nothing (mail scanners follow links); the answer and the appeal are POSTs. A client's
request page exists only for that client: any other visitor is answered as for a request that does not exist.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from consent.views import client_required

from ..agents import agent_request_answer, agent_request_for_token
from ..appeals import appeal_open, appeal_open_now, request_for_appeal_token
from ..forms import AgentAnswerForm, AppealForm, service_error_add
from ..links import agent_confirm_valid_for, appeal_window_ends
from ..models import DataSubjectRequest, RequestAppeal
from ..services import request_reference
from ..verification import VerificationLinkError


def _link_failed(request, exc: VerificationLinkError):
    return render(request, "rights/public/link_failed.html", {"expired": exc.expired}, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
def agent_confirm(request, token):
    try:
        dsr = agent_request_for_token(token)
    except VerificationLinkError as exc:
        return _link_failed(request, exc)
    form = AgentAnswerForm(request.POST if request.method == "POST" else None)
    answered_now = None
    if request.method == "POST" and form.is_valid():
        try:
            dsr, answered_now = agent_request_answer(token=token, confirmed=form.cleaned_data["answer"] == "confirm")
        except VerificationLinkError as exc:
            return _link_failed(request, exc)
    return render(request, "rights/public/agent_confirm.html", {
        "dsr": dsr, "agent": dsr.agent, "form": form, "answered_now": answered_now, "reference": request_reference(dsr),
        "days": agent_confirm_valid_for().days}, status=400 if form.errors else 200)


def _appeal_context(dsr: DataSubjectRequest, form) -> dict:
    return {"dsr": dsr, "form": form, "reference": request_reference(dsr), "window_ends": appeal_window_ends(dsr),
            "appeal": RequestAppeal.objects.filter(request=dsr).first(), "can_appeal": appeal_open_now(dsr)}


@never_cache
@require_http_methods(["GET", "POST"])
def appeal_by_link(request, token):
    try:
        dsr = request_for_appeal_token(token)
    except VerificationLinkError as exc:
        return _link_failed(request, exc)
    form = AppealForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            appeal_open(request=dsr, grounds=form.cleaned_data["grounds"], channel=RequestAppeal.Channel.LINK)
        except ValidationError as exc:
            service_error_add(form, exc)
        else:
            messages.success(request, _("Your appeal was received. We e-mailed you when we will decide it."))
            return redirect("rights:appeal_by_link", token=token)
    return render(request, "rights/public/appeal.html", {**_appeal_context(dsr, form), "action": request.path},
                  status=400 if form.errors else 200)


def _own_request(client, public_id) -> DataSubjectRequest:
    return get_object_or_404(DataSubjectRequest.objects.select_related("client"), public_id=public_id, client=client)


@client_required
def request_detail(request, client, public_id):
    dsr = _own_request(client, public_id)
    return render(request, "rights/data/request.html", {**_appeal_context(dsr, AppealForm()), "client": client})


@require_POST
@client_required
def request_appeal(request, client, public_id):
    dsr = _own_request(client, public_id)
    form = AppealForm(request.POST)
    if form.is_valid():
        try:
            appeal_open(request=dsr, grounds=form.cleaned_data["grounds"], channel=RequestAppeal.Channel.PORTAL,
                        client=client)
        except PermissionDenied as exc:  # not reached: the request was looked up among the client's own
            raise Http404 from exc
        except ValidationError as exc:
            service_error_add(form, exc)
        else:
            messages.success(request, _("Your appeal was received. We e-mailed you when we will decide it."))
            return redirect("rights:request_detail", public_id=dsr.public_id)
    return render(request, "rights/data/request.html", {**_appeal_context(dsr, form), "client": client}, status=400)


urlpatterns = [
    path("requests/agent/<str:token>/", agent_confirm, name="agent_confirm"),
    path("requests/appeal/<str:token>/", appeal_by_link, name="appeal_by_link"),
    path("portal/data/requests/<uuid:public_id>/", request_detail, name="request_detail"),
    path("portal/data/requests/<uuid:public_id>/appeal/", request_appeal, name="request_appeal"),
]
