"""Admin hooks for the staff access log (`accounts.access_log`), and the one bulk export of client data.

`StaffAccessAdminMixin` goes before `admin.ModelAdmin` on every admin that shows a client's personal data: a list
page (and an autocomplete answer) writes one row per client shown (one INSERT), a record page one row with the fields
it shows, a save one row with the fields changed. `access_client_ids` says which clients an object shows.
"""

import csv

from django import forms
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .access_log import Action, staff_access_record
from .spreadsheet import spreadsheet_text


class _ShownPaginator(Paginator):
    """Tells `shown` which objects a page holds (the admin's autocomplete lists clients by name and e-mail)."""

    def __init__(self, *args, shown, **kwargs):
        super().__init__(*args, **kwargs)
        self.shown = shown

    def page(self, number):
        page = super().page(number)
        page.object_list = list(page.object_list)
        self.shown(page.object_list)
        return page


class StaffAccessAdminMixin:
    access_list_logged = True                 # does the list page show clients' personal data?
    access_changes_logged = True              # does saving the form change a client's personal data?
    access_detail_action = Action.VIEW_DETAIL
    access_autocomplete_fields = ("full_name", "email")  # what an autocomplete result shows (the object's str)

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if getattr(request.resolver_match, "url_name", None) != "autocomplete":
            return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        action = self._autocomplete_action(request)
        return _ShownPaginator(queryset, per_page, orphans, allow_empty_first_page, shown=lambda objects: self.access_record(
            request, objects, action, fields=self.access_autocomplete_fields))

    def _autocomplete_action(self, request) -> str:
        """An autocomplete answers a field of another form (app_label.model_name in the query). The admin that owns
        that form may say what the search is part of: the disclosure form's client search is a look in a disclosure,
        sealed like one (`access_autocomplete_sources`, `access_autocomplete_action`)."""
        source = f"{request.GET.get('app_label', '')}.{request.GET.get('model_name', '')}".lower()
        for model_admin in self.admin_site._registry.values():
            # Only who may fill that form gets the form's action: anyone else's search is an ordinary list view
            # (the query string is the caller's to write, so it must not let them tag their own looks).
            if source in getattr(model_admin, "access_autocomplete_sources", ()) and (
                    model_admin.has_add_permission(request) or model_admin.has_change_permission(request)):
                return model_admin.access_autocomplete_action
        return Action.VIEW_LIST

    def access_client_ids(self, obj, context=None) -> list[int]:
        return [obj.client_id] if getattr(obj, "client_id", None) else []

    def access_sealed(self, obj) -> bool:
        """Does this object belong to a disclosure whose notice is withheld? A look at it is then logged as a look
        in a disclosure, which the staff access log seals like one (`access_log.staff_access_visible`)."""
        return False

    def access_record(self, request, objects_or_ids, action, fields=(), reason=""):
        by_action: dict[str, list[int]] = {}
        for o in objects_or_ids:
            looked = action
            if not isinstance(o, int) and action in (Action.VIEW_LIST, Action.VIEW_DETAIL) and self.access_sealed(o):
                looked = Action.DISCLOSURE
            by_action.setdefault(looked, []).extend([o] if isinstance(o, int) else self.access_client_ids(o))
        for looked, ids in by_action.items():
            staff_access_record(staff=request.user, client_ids=ids, action=looked, fields=fields, path=request.path,
                                reason=reason)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", None) and response.context_data.get("cl")
        if self.access_list_logged and changelist is not None:
            shown = list(changelist.result_list)  # the page renders from the same, now evaluated, queryset
            columns = [getattr(c, "__name__", str(c)) for c in changelist.list_display if c != "action_checkbox"]
            self.access_record(request, shown, Action.VIEW_LIST, fields=columns)
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        response = super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)
        if obj is not None:
            action = Action.DISCLOSURE if self.access_sealed(obj) else self.access_detail_action
            self.access_record(request, self.access_client_ids(obj, context), action, fields=self.access_fields_shown(context))
        return response

    def access_record_page(self, request, response, fields=()):
        """A custom page of this admin (a step, a decision) that shows its object's clients."""
        context = getattr(response, "context_data", None) or {}
        original = context.get("original")
        if original is not None:
            action = Action.DISCLOSURE if self.access_sealed(original) else self.access_detail_action
            self.access_record(request, self.access_client_ids(original, context), action,
                               fields=fields or self.access_fields_shown(context))
        return response

    def access_fields_shown(self, context) -> list[str]:
        adminform = context.get("adminform")
        fields = flatten_fieldsets(adminform.fieldsets) if adminform else []
        return fields + [inline.formset.prefix for inline in context.get("inline_admin_formsets", [])]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        changed = list(form.changed_data) + [f.prefix for f in formsets if f.has_changed()]
        if changed and self.access_changes_logged:
            self.access_record(request, [form.instance], Action.CHANGE, fields=changed)


# --- "Export selected clients (CSV)": a reason first, then the file and one log row per client ------------------

EXPORT_COLUMNS = ["public_id", "full_name", "email", "phone", "country", "region", "jurisdiction", "preferred_language",
                  "created_at"]
class ExportReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason for this export"), min_length=10, max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=gettext_lazy("Why these clients' data must leave the admin: it is logged "
                                                    "with each client."))


def _cell(value) -> str:
    return "" if value is None else spreadsheet_text(str(value))


def clients_csv(queryset) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="clients-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(EXPORT_COLUMNS)
    for row in queryset.order_by("pk").values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000):
        writer.writerow([_cell(v) for v in row])
    return response


def export_selected_clients(model_admin, request, queryset):
    """The action: without a valid reason, the reason page; with one, the CSV and one log row per client."""
    form = ExportReasonForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        ids = list(queryset.values_list("pk", flat=True))
        model_admin.access_record(request, ids, Action.EXPORT, fields=EXPORT_COLUMNS, reason=form.cleaned_data["reason"])
        return clients_csv(queryset.model.objects.filter(pk__in=ids))
    return TemplateResponse(request, "admin/accounts/client/export.html", {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts, "form": form,
        "title": _("Export selected clients (CSV)"), "count": queryset.count(),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"), "action": request.POST.get("action", ""),
    }, status=400 if form.errors else 200)
