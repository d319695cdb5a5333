"""Sign-up pages: the form, the same "check your e-mail" page for every valid form, and the link that completes it
(accounts/signup.py says why sign-up is confirm-first)."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .backends import BACKEND
from .forms import GuardianConsentForm, SignupConfirmForm, SignUpForm
from .ip import request_ip
from .minors import (
    GUARDIAN_LINK_VALID_FOR,
    pending_signup_for_guardian,
    signup_age_rule_for,
    signup_guardian_answer,
    signup_guardian_request,
)
from .signup import SIGNUP_LINK_VALID_FOR, SignupLinkError, pending_signup_for_link, signup_confirm, signup_request

HOURS = int(SIGNUP_LINK_VALID_FOR.total_seconds() // 3600)


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            signup_request(email=data["email"], password=data["password1"], full_name=data["full_name"],
                           phone=data["phone"], country=data["country"], preferred_language=data["preferred_language"])
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            return redirect("signup_sent")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@never_cache
def signup_sent(request):
    return render(request, "registration/signup_sent.html", {"hours": HOURS})


def _link_refused(request):
    return render(request, "registration/signup_link_invalid.html", {"hours": HOURS}, status=400)


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def signup_link(request, token):
    """GET asks for the password (and, where a rule applies, the age) and changes nothing (mail scanners open
    links); POST creates the account, or sends a younger client's sign-up to their parent or guardian."""
    try:
        pending = pending_signup_for_link(token=token)
    except SignupLinkError:
        return _link_refused(request)
    rule = signup_age_rule_for(country=str(pending.country))
    form = SignupConfirmForm(request.POST if request.method == "POST" else None,
                             minimum_age=rule.minimum_age if rule else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if form.younger:
                waiting = signup_guardian_request(token=token, password=data["password"],
                                                  guardian_name=data["guardian_name"], guardian_email=data["guardian_email"])
                return render(request, "registration/signup_guardian_sent.html",
                              {"guardian_email": waiting.guardian_email, "days": GUARDIAN_LINK_VALID_FOR.days})
            client = signup_confirm(token=token, password=data["password"], ip_address=request_ip(request),
                                    of_age=rule is not None, user_agent=request.headers.get("User-Agent", ""))
        except (SignupLinkError, LookupError):  # used (or the address got an account) meanwhile
            return _link_refused(request)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            login(request, client.user, backend=BACKEND)
            messages.success(request, _("Welcome, %(name)s. Your account is ready.") % {"name": client.full_name})
            return redirect("portal:dashboard")
    return render(request, "registration/signup_confirm.html", {"form": form, "email": pending.email},
                  status=400 if form.errors else 200)


def _guardian_link_refused(request):
    return render(request, "registration/signup_guardian_invalid.html", {"days": GUARDIAN_LINK_VALID_FOR.days}, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
def signup_guardian(request, token):
    """The parent's or guardian's link: who asked and what we would process; consent creates the account, refusal
    deletes the sign-up. The guardian is not logged in: the account is the client's."""
    pending = pending_signup_for_guardian(token=token)
    if pending is None:
        return _guardian_link_refused(request)
    form = GuardianConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            client = signup_guardian_answer(token=token, consent=form.consents, ip_address=request_ip(request),
                                            user_agent=request.headers.get("User-Agent", ""))
        except LookupError:
            return _guardian_link_refused(request)
        return render(request, "registration/signup_guardian_done.html",
                      {"consented": form.consents and client is not None, "name": pending.full_name})
    return render(request, "registration/signup_guardian.html", {"form": form, "pending": pending},
                  status=400 if form.errors else 200)
