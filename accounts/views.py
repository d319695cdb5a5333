from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from .forms import SignUpForm
from .ip import request_ip
from .services import client_register


@sensitive_post_parameters("password1", "password2")
def signup(request):
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            client = client_register(
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                phone=data["phone"],
                country=data["country"],
                preferred_language=data["preferred_language"],
                ip_address=request_ip(request),
            )
        except ValidationError as exc:
            form.apply_service_errors(exc)
        else:
            login(request, client.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome, %(name)s. Your account is ready.") % {"name": client.full_name})
            return redirect("portal:dashboard")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)
