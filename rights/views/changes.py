"""Client pages that change data: correcting name, phone and addresses (/portal/data/correct/), asking for a new
e-mail address (/portal/data/correct/email/, applied by the link sent to it) and objecting to direct marketing
(/portal/data/object/).

A correction needs the password again (11 CCR 7060-7062: a stolen session alone must not rewrite where parcels
and notices go); the objection does not (an opt-out needs no verification). Errors stay next to their field and
the form keeps what was typed.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.email_change import VALID_FOR, client_email_change_start
from accounts.forms import SignUpForm
from accounts.ip import request_ip
from accounts.models import Address
from accounts.selectors import email_change_waiting
from consent.models import Channel, ConsentState
from consent.views import client_required

from ..objection import marketing_objection, marketing_purposes
from ..reauth import PasswordConfirmForm
from ..rectification import (
    ADDRESS_FIELDS,
    FIELD_LABELS,
    address_add,
    address_of_client,
    address_rectify,
    address_remove,
    client_rectify,
)


class ServiceErrorsMixin:
    def apply_service_errors(self, error: ValidationError) -> None:
        """A service's ValidationError, each message next to its field (or above the form)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for field, field_messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, field_messages)


class IdentityForm(ServiceErrorsMixin, PasswordConfirmForm):
    """Name and phone as the sign-up form asks for them; `client_rectify` validates them as sign-up does."""

    full_name = SignUpForm.base_fields["full_name"]
    phone = SignUpForm.base_fields["phone"]
    field_order = ["full_name", "phone", "password"]


class AddressForm(ServiceErrorsMixin, PasswordConfirmForm, forms.ModelForm):
    """An address with the model's rules, as the admin edits it."""

    class Meta:
        model = Address
        fields = list(ADDRESS_FIELDS)

    field_order = [*ADDRESS_FIELDS, "password"]


class EmailChangeForm(ServiceErrorsMixin, PasswordConfirmForm):
    """The new address; the change waits for the link sent to it (accounts/email_change.py)."""

    new_email = forms.EmailField(label=gettext_lazy("New e-mail address"), max_length=254,
                                 widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    field_order = ["new_email", "password"]


def _corrected_message(rows) -> str:
    fields = ", ".join(dict.fromkeys(str(FIELD_LABELS[row.field]) for row in rows))
    return _("Corrected: %(fields)s. Any partner that received the old value has been told to fetch the new one "
             "or delete it.") % {"fields": fields}


def _form_kwargs(request):
    return {"data": request.POST if request.method == "POST" else None, "user": request.user, "request": request}


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@client_required
def correct(request, client):
    form = IdentityForm(initial={"full_name": client.full_name, "phone": client.phone}, **_form_kwargs(request))
    if request.method == "POST" and form.is_valid():
        try:
            rows = client_rectify(client=client, actor=request.user, changes={
                "full_name": form.cleaned_data["full_name"], "phone": form.cleaned_data["phone"]})
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            if rows:
                messages.success(request, _corrected_message(rows))
            else:
                messages.info(request, _("Nothing changed: your name and phone number were already these."))
            return redirect("rights:correct")
    return render(request, "rights/changes/correct.html", {
        "client": client, "form": form, "addresses": client.addresses.all(),
    }, status=400 if form.errors else 200)


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@client_required
def email_change(request, client):
    """Ask for a new e-mail address (the login): nothing changes until the link sent to it is confirmed."""
    form = EmailChangeForm(**_form_kwargs(request))
    if request.method == "POST" and form.is_valid():
        try:
            change = client_email_change_start(client=client, new_email=form.cleaned_data["new_email"],
                                               started_by=request.user)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _(
                "We sent a link to %(email)s. Open it within %(hours)s hours and confirm with your password; until "
                "then your address stays %(current)s.") % {"email": change.new_email, "current": client.email,
                                                           "hours": int(VALID_FOR.total_seconds() // 3600)})
            return redirect("rights:correct")
    return render(request, "rights/changes/email_change.html", {
        "client": client, "form": form, "waiting": email_change_waiting(client=client),
    }, status=400 if form.errors else 200)


def _own_address(client, address_id) -> Address:
    try:
        return address_of_client(client=client, address_id=address_id)
    except Address.DoesNotExist:  # another client's address looks exactly like one that does not exist
        raise Http404 from None


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@client_required
def address_new(request, client):
    form = AddressForm(initial={"country": client.country}, **_form_kwargs(request))
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in ADDRESS_FIELDS}
        try:
            address_add(client=client, actor=request.user, **values)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            messages.success(request, _("Your address was added."))
            return redirect("rights:correct")
    return render(request, "rights/changes/address_form.html", {"client": client, "form": form, "address": None},
                  status=400 if form.errors else 200)


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@client_required
def address_edit(request, client, address_id):
    address = _own_address(client, address_id)
    initial = {name: getattr(address, name) for name in ADDRESS_FIELDS}
    form = AddressForm(initial=initial, **_form_kwargs(request))
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in ADDRESS_FIELDS}
        try:
            rows = address_rectify(client=client, address_id=address.pk, actor=request.user, **values)
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            if rows:
                messages.success(request, _corrected_message(rows))
            else:
                messages.info(request, _("Nothing changed: the address was already this."))
            return redirect("rights:correct")
    return render(request, "rights/changes/address_form.html", {"client": client, "form": form, "address": address},
                  status=400 if form.errors else 200)


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@client_required
def address_delete(request, client, address_id):
    address = _own_address(client, address_id)
    form = PasswordConfirmForm(**_form_kwargs(request))
    if request.method == "POST" and form.is_valid():
        address_remove(client=client, address_id=address.pk, actor=request.user)
        messages.success(request, _("The address was removed. Any partner that received it has been told to delete "
                                    "it."))
        return redirect("rights:correct")
    return render(request, "rights/changes/address_remove.html", {"client": client, "form": form, "address": address},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@client_required
def object_to_marketing(request, client):
    if request.method == "POST":
        events = marketing_objection(client=client, channel=Channel.PORTAL, ip_address=request_ip(request),
                                     user_agent=request.headers.get("User-Agent", ""))
        if events:
            titles = ", ".join(f"“{event.purpose.title}”" for event in events)
            messages.success(request, _("Done: you will get no more marketing from us. Withdrawn: %(purposes)s. A "
                                        "receipt for each was sent to your email, and every partner that received "
                                        "your data for these was told to delete it.") % {"purposes": titles})
        else:
            messages.info(request, _("Nothing to stop: you have not given consent to any marketing, so nothing changed."))
        return redirect("rights:object")
    granted = set(ConsentState.objects.filter(client=client, granted=True).values_list("purpose_id", flat=True))
    purposes = [(purpose, purpose.pk in granted) for purpose in marketing_purposes()]
    return render(request, "rights/changes/object.html", {
        "client": client, "purposes": purposes, "any_granted": any(granted for _purpose, granted in purposes),
    })


urlpatterns = [
    path("portal/data/correct/", correct, name="correct"),
    path("portal/data/correct/email/", email_change, name="email_change"),
    path("portal/data/correct/addresses/new/", address_new, name="address_add"),
    path("portal/data/correct/addresses/<int:address_id>/", address_edit, name="address_edit"),
    path("portal/data/correct/addresses/<int:address_id>/remove/", address_delete, name="address_remove"),
    path("portal/data/object/", object_to_marketing, name="object"),
]
