"""Showing a service's refusal on the form that called it (every app's forms use this)."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


def service_error_add(form: forms.Form, exc: Exception, *, rename: dict[str, str] | None = None) -> None:
    """A service's refusal on the form: on the field it names when the form shows that field, above the form otherwise."""
    if isinstance(exc, PermissionDenied):
        form.add_error(None, str(exc) or _("You may not do this."))
        return
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        name = (rename or {}).get(field, field)
        form.add_error(name if name in form.fields else None, errors)
