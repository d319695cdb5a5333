from django.contrib.auth import update_session_auth_hash
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .email_change import EmailChangeLinkError, client_email_change_confirm, email_change_of_token
from .forms import EmailChangeConfirmForm


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def email_change_confirm(request, token):
    """The link sent to a new e-mail address: GET shows what is asked and a confirm button, POST (with the account's
    password) applies it. Whoever holds the link sees only the new address, never the account's name or old one."""
    try:
        change = email_change_of_token(token=token)
    except EmailChangeLinkError as exc:
        return render(request, "registration/email_change_failed.html", {"reason": exc.reason}, status=400)
    user = change.client.user
    form = EmailChangeConfirmForm(request.POST if request.method == "POST" else None, user=user, request=request)
    if request.method == "POST" and form.is_valid():
        # Read before the change: afterwards the session's hash no longer matches and Django logs it out.
        signed_in_here = user is not None and request.user.is_authenticated and request.user.pk == user.pk
        try:
            change = client_email_change_confirm(token=token, account_holder=user)
        except EmailChangeLinkError as exc:  # used or replaced meanwhile
            return render(request, "registration/email_change_failed.html", {"reason": exc.reason}, status=400)
        if change.status == change.Status.REFUSED:
            return render(request, "registration/email_change_failed.html", {"reason": "refused"}, status=400)
        if signed_in_here:
            user.refresh_from_db()
            update_session_auth_hash(request, user)  # this browser stays logged in; every other session ends
        return render(request, "registration/email_change_done.html", {"change": change})
    return render(request, "registration/email_change_confirm.html", {"change": change, "form": form},
                  status=400 if form.errors else 200)
