"""/do-not-sell-or-share/: the footer's "Do Not Sell or Share My Personal Information" (consent/do_not_sell.py).

Public, linked from every page. A logged-in client gets one button; anyone else a form asking only for an e-mail
address, which answers with the same page whether or not a client uses it. The form is anonymous, so it counts per
IP address and per e-mail address, as rights' public request form does (accounts/rate_limits.py).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.ip import request_ip
from accounts.rate_limits import limit_reached
from accounts.selectors import client_of_user

from .do_not_sell import (
    CONFIRM_VALID_FOR,
    ConfirmLinkError,
    consent_do_not_sell,
    do_not_sell_request_confirm,
    do_not_sell_request_submit,
    sale_or_sharing_purposes,
)
from .forms import DoNotSellRequestForm
from .middleware import request_has_gpc
from .models import RecipientClass
from .selectors import gpc_was_honoured
from .views import choices_for, client_required

LIMIT_PER_IP = 10  # every attempt from one address, in a window
LIMIT_PER_EMAIL = 3  # valid requests for one e-mail address, in a window
LIMIT_WINDOW_SECONDS = 3600
SESSION_KEY = "consent_do_not_sell"


def _limit_reached(scope: str, value: str, limit: int) -> bool:
    return limit_reached(namespace="consent:do-not-sell", scope=scope, value=value, limit=limit,
                         window_seconds=LIMIT_WINDOW_SECONDS)


def _page(request, *, form=None, status=200):
    user = request.user
    client = client_of_user(user=user) if user.is_authenticated and not user.is_staff else None
    purposes = list(sale_or_sharing_purposes())
    codes = {p.code for p in purposes}
    choices = [c for c in choices_for(client=client) if c.purpose.code in codes] if client else []
    return render(request, "consent/do_not_sell.html", {
        "client": client, "staff": user.is_authenticated and user.is_staff, "choices": choices,
        "opted_out": bool(choices) and not any(c.granted for c in choices),
        "purposes": [(p, RecipientClass(p.recipient_class).label, ", ".join(map(str, p.data_category_labels())))
                     for p in purposes],
        "form": form if form is not None else DoNotSellRequestForm(),
        "gpc": request_has_gpc(request), "gpc_honoured": bool(client) and request_has_gpc(request)
        and gpc_was_honoured(client=client),
    }, status=status)


@never_cache
def do_not_sell(request):
    return _page(request)


@never_cache
@require_POST
@client_required
def do_not_sell_withdraw(request, client):
    """The one button: no password, no question (11 CCR 7026(d))."""
    try:
        outcome = consent_do_not_sell(client=client, ip_address=request_ip(request),
                                      user_agent=request.headers.get("User-Agent", ""))
    except ValidationError as exc:  # e.g. the account was erased meanwhile: nothing was recorded
        messages.error(request, " ".join(exc.messages))
        return redirect("consent:do_not_sell")
    if outcome.changed:
        titles = "”, “".join(str(event.purpose.title) for event in outcome.withdrawn)
        messages.success(request, ngettext(
            "Done: we no longer sell or share your personal information. Your consent to “%(purposes)s” was withdrawn "
            "and a receipt was sent to your e-mail.",
            "Done: we no longer sell or share your personal information. Your consent to “%(purposes)s” was withdrawn "
            "and a receipt for each was sent to your e-mail.", len(outcome.withdrawn)) % {"purposes": titles})
    else:
        messages.info(request, _("You had already opted out of every sale and sharing of your personal information; "
                                 "nothing new was recorded."))
    return redirect("consent:do_not_sell")


def _too_many(request, form):
    form.add_error(None, _("Too many requests were sent from here or for this e-mail address. Please try again in an "
                           "hour, or write to privacy@fulfillmen.com."))
    return _page(request, form=form, status=429)


@never_cache
@require_POST
def do_not_sell_request(request):
    """Without a session: only the e-mail address. The same answer whether or not a client uses it."""
    form = DoNotSellRequestForm(request.POST)
    if _limit_reached("ip", request_ip(request) or "unknown", LIMIT_PER_IP):
        form.is_valid()  # show what was typed, but write nothing
        return _too_many(request, form)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    email = form.cleaned_data["email"]
    if _limit_reached("email", email.lower(), LIMIT_PER_EMAIL):
        return _too_many(request, form)
    do_not_sell_request_submit(email=email, language=get_language() or "en")
    request.session[SESSION_KEY] = email
    return redirect("consent:do_not_sell_sent")


@never_cache
def do_not_sell_sent(request):
    return render(request, "consent/do_not_sell_sent.html", {
        "email": request.session.pop(SESSION_KEY, ""), "days": CONFIRM_VALID_FOR.days})


@never_cache
@require_http_methods(["GET"])
def do_not_sell_confirm(request, token):
    try:
        outcome = do_not_sell_request_confirm(token=token, ip_address=request_ip(request),
                                              user_agent=request.headers.get("User-Agent", ""))
    except ConfirmLinkError as exc:
        return render(request, "consent/do_not_sell_failed.html", {"expired": exc.expired}, status=400)
    except ValidationError:  # the account was erased meanwhile: nothing left to opt out, nothing recorded
        return render(request, "consent/do_not_sell_failed.html", {"expired": False}, status=400)
    return render(request, "consent/do_not_sell_done.html", {"outcome": outcome})
