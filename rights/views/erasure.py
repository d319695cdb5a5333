"""Erasure in the portal: what is erased and what is kept, the password, then the date and a Cancel button — or,
under a legal hold, the reasons and until when the data is kept, in place of the button (GDPR Art. 17; PIPL Art. 47;
11 CCR 7060-7062: a logged-in client re-authenticates before a deletion)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from consent.views import client_required

from ..erasure import erasure_cancel, erasure_request, scheduled_erasure_of
from ..erasure_page import erasure_page_body
from ..holds import client_legal_holds
from ..models import DataSubjectRequest
from ..reauth import PasswordConfirmForm


def _shown(moment) -> str:
    return f"{formats.date_format(timezone.localtime(moment), 'DATETIME_FORMAT')} ({timezone.get_current_timezone_name()})"


@never_cache
@sensitive_post_parameters("password")
@client_required
def erase(request, client):
    if request.method != "POST":
        return _erase_page(request, client, PasswordConfirmForm(user=request.user, request=request))
    scheduled = scheduled_erasure_of(client=client)
    if scheduled is not None:
        return redirect("rights:erase")
    form = PasswordConfirmForm(request.POST, user=request.user, request=request)
    if form.is_valid():
        try:
            erasure = erasure_request(client=client, actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if erasure.status == DataSubjectRequest.Status.REFUSED:  # a hold appeared since the page was shown
                messages.error(request, erasure.refusal_reason)
            else:
                messages.success(request, _(
                    "Your data will be erased on %(date)s. We e-mailed you the date and how to cancel until then.")
                    % {"date": _shown(erasure.scheduled_for)})
            return redirect("rights:erase")
    return _erase_page(request, client, form)


def _erase_page(request, client, form):
    """The page; its queries run only when its body is rendered (rights/erasure_page.py keeps an unsent form's)."""
    today = timezone.localdate()

    def context() -> dict:
        scheduled = scheduled_erasure_of(client=client)
        return {"client": client, "form": form, "scheduled": scheduled, "grace_days": settings.ERASURE_GRACE_DAYS,
                "holds": [] if scheduled else client_legal_holds(client=client, today=today)}

    body = erasure_page_body(request=request, client=client, today=today, context=context, keep=not form.is_bound)
    return render(request, "rights/erasure/erase.html", {"client": client, "body": body},
                  status=400 if form.errors else 200)


@require_POST
@client_required
def erase_cancel(request, client, public_id):
    # Another client's erasure looks exactly like one that does not exist.
    erasure = get_object_or_404(DataSubjectRequest, public_id=public_id, client=client,
                                kind=DataSubjectRequest.Kind.ERASURE)
    try:
        erasure_cancel(request=erasure, client=client)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The erasure is cancelled. Nothing was erased; your account stays as it is."))
    return redirect("rights:erase")


urlpatterns = [
    path("portal/data/erase/", erase, name="erase"),
    path("portal/data/erase/<uuid:public_id>/cancel/", erase_cancel, name="erase_cancel"),
]
