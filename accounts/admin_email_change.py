"""The client page's "Change the e-mail address…" step (issue #16.5): staff who may change clients ask for a change
of address; the client's link applies it (accounts/email_change.py). Nobody types a client's address into the
client's form after it was added, and nobody links a login to a client in the admin."""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from .email_change import client_email_change_start
from .form_errors import service_error_add
from .forms import EmailChangeStartForm
from .models import Client, EmailChangeRequest

HISTORY_SHOWN = 5


def email_change_page(model_admin, request, object_id):
    client = model_admin.get_object(request, unquote(object_id))
    if client is None:
        raise Http404
    if not model_admin.has_change_permission(request, client):
        raise PermissionDenied
    change_url = reverse("admin:accounts_client_change", args=[client.pk])
    form = EmailChangeStartForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            client_email_change_start(client=client, new_email=form.cleaned_data["new_email"], started_by=request.user)
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(form, exc)
        else:
            messages.success(request, _("A confirmation link was sent to the new address and a notice to the current "
                                        "one. The address changes only when the client confirms it."))
            return redirect(change_url)
    response = TemplateResponse(request, "admin/accounts/client/email_change.html", {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts, "original": client, "form": form,
        "title": _("Change the e-mail address"), "change_url": change_url,
        "step": {"submit": _("Send the confirmation link")},
    }, status=400 if form.errors else 200)
    return model_admin.access_record_page(request, response, fields=["full_name", "email"])


def email_change_history(client: Client) -> str:
    """The latest requests, for the client's page: what was asked, by whom, and what became of it."""
    if client.pk is None:
        return "—"
    changes = (EmailChangeRequest.objects.filter(client=client).select_related("started_by")
               .order_by("-started_at", "-pk")[:HISTORY_SHOWN])
    if not changes:
        return _("None asked for.")
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{} — {} · {} · {}</li>", (
        (change.new_email or "—", change.get_state_display(), change.started_by.email,
         timezone.localtime(change.started_at).strftime("%Y-%m-%d %H:%M")) for change in changes)))
