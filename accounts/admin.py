from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .access_log import staff_access_visible
from .admin_access import StaffAccessAdminMixin, export_selected_clients
from .admin_email_change import email_change_history, email_change_page
from .admin_readonly import ReadOnlyAdmin
from .corrections import IDENTITY_FIELDS, address_corrections, client_corrected, identity_corrections
from .forms import ClientAdminForm, StaffUserChangeForm, StaffUserCreationForm
from .models import Address, Client, IPObservation, SignupAgeRule, StaffAccess, User
from .services import client_create, client_update, signup_age_rule_save


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = ["kind", "line1", "line2", "city", "region", "postcode", "country"]


class IPObservationInline(admin.TabularInline):
    model = IPObservation
    extra = 0
    fields = readonly_fields = ["ip_address", "first_seen", "last_seen", "last_context"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Client)
class ClientAdmin(StaffAccessAdminMixin, admin.ModelAdmin):
    form = ClientAdminForm
    list_display = ["full_name", "email", "phone", "country", "jurisdiction", "created_at"]
    list_filter = ["jurisdiction", "preferred_language"]
    search_fields = ["full_name", "email", "phone", "=public_id"]
    ordering = ["full_name", "id"]
    readonly_fields = ["public_id", "jurisdiction", "created_at", "updated_at"]
    inlines = [AddressInline, IPObservationInline]
    change_form_template = "admin/accounts/client/change_form.html"
    list_per_page = 50
    show_full_result_count = False
    actions = ["export_selected_csv"]

    def access_client_ids(self, obj, context=None):
        return [obj.pk]

    def has_export_client_csv_permission(self, request):
        return request.user.has_perm("accounts.export_client_csv")

    @admin.action(description=_("Export selected clients (CSV)…"), permissions=["export_client_csv"])
    def export_selected_csv(self, request, queryset):
        return export_selected_clients(self, request, queryset)

    # Adding a client takes an e-mail address (and never a login); on an existing client the address and the login
    # are shown, never edited — for anyone, superusers included (issue #16.5).
    ADD_FIELDS = ["full_name", "email", "phone", "country", "region", "preferred_language"]
    SHOWN_ONLY = ["email", "email_changes", "user"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.ADD_FIELDS
        return ["full_name", "email", "email_changes", "phone", "country", "region", "preferred_language",
                "correction_channel", "user", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if obj is None else [*readonly, *self.SHOWN_ONLY]

    @admin.display(description=_("e-mail address changes"))
    def email_changes(self, client):
        return email_change_history(client)

    def get_urls(self):
        return [path("<path:object_id>/email-change/", self.admin_site.admin_view(self.email_change_view),
                     name="accounts_client_email_change"), *super().get_urls()]

    def email_change_view(self, request, object_id):
        return email_change_page(self, request, object_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        may_ask = self.has_change_permission(request)
        extra_context = {**(extra_context or {}), "email_change_url": reverse(
            "admin:accounts_client_email_change", args=[object_id]) if may_ask else None}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data[k] for k in self.ADD_FIELDS if k in form.cleaned_data}
        data["country"] = str(data["country"])
        if change:
            data.pop("email", None)  # never a form field here; a crafted POST is ignored, not applied
        try:
            if change:
                current = Client.objects.get(pk=obj.pk)
                before = {field: getattr(current, field) for field in IDENTITY_FIELDS}
                form.corrections = identity_corrections(before=before, after=client_update(client=current, **data))
            else:
                form.instance = client_create(**data)
                obj.pk = form.instance.pk
        except ValidationError as exc:  # the form validated the same rules; only a race gets here
            raise ValidationError(exc.messages) from exc

    def save_formset(self, request, form, formset, change):
        if change and formset.model is Address:
            form.corrections = [*getattr(form, "corrections", []), *address_corrections(formset)]
        super().save_formset(request, form, formset, change)

    def save_related(self, request, form, formsets, change):
        """A correction of the name, phone or an address is announced in the admin's transaction: rights records
        it and tells the recipients and the client (accounts/corrections.py)."""
        super().save_related(request, form, formsets, change)
        corrections = getattr(form, "corrections", [])
        if change and corrections:
            client_corrected.send(sender=Client, client=Client.objects.get(pk=form.instance.pk), changes=corrections,
                                  actor=request.user, channel=form.cleaned_data.get("correction_channel") or "email")


@admin.register(User)
class UserAdmin(StaffAccessAdminMixin, DjangoUserAdmin):
    """Staff logins and clients' logins. A client's login shows their e-mail address, so every list row, record page
    and save that concerns one is in the staff access log like the client admin's; staff logins write nothing."""

    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    ordering = ["email"]
    list_display = ["email", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2", "is_staff", "groups"]})]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["groups"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client")

    def access_client_ids(self, obj, context=None):
        client = getattr(obj, "client", None)
        return [client.pk] if client is not None else []

    @staticmethod
    def _is_client_login(user_id) -> bool:
        return str(user_id).isdigit() and Client.objects.filter(user_id=int(user_id)).exists()

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and self._is_client_login(obj.pk):
            # A client's login: its address changes only by the client's confirmed link, and it is never staff.
            readonly += ["email", "is_staff", "is_superuser", "groups"]
        return readonly

    def user_change_password(self, request, id, form_url=""):
        if self._is_client_login(unquote(id)):
            raise PermissionDenied  # a client sets their password themselves, by the reset link sent to their address
        return super().user_change_password(request, id, form_url)


@admin.register(StaffAccess)
class StaffAccessAdmin(ReadOnlyAdmin):
    """The staff access log: Privacy officers (and superusers) read and filter it; nobody adds, changes or deletes."""

    list_display = ["at", "staff", "action", "client_reference", "shown_fields", "path", "reason"]
    list_filter = ["action", "at", ("staff", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=client__public_id"]
    search_help_text = _("Client reference (UUID).")
    list_select_related = ["staff", "client"]
    date_hierarchy = "at"
    list_per_page = 100
    show_full_result_count = False
    fields = readonly_fields = ["at", "staff", "action", "client_reference", "shown_fields", "path", "reason"]

    def get_queryset(self, request):
        return staff_access_visible(super().get_queryset(request), viewer=request.user)

    @admin.display(description=_("client reference"), ordering="client__public_id")
    def client_reference(self, access):
        return access.client.public_id  # the UUID, not the name: the log shows no personal data of its own

    @admin.display(description=_("fields"))
    def shown_fields(self, access):
        return ", ".join(access.fields)


@admin.register(SignupAgeRule)
class SignupAgeRuleAdmin(admin.ModelAdmin):
    """The ages below which sign-up asks for a parent's or guardian's consent (accounts/minors.py)."""

    list_display = ["where", "minimum_age", "note"]
    list_filter = ["jurisdiction"]
    fields = ["jurisdiction", "country", "minimum_age", "note"]

    def save_model(self, request, obj, form, change):
        signup_age_rule_save(rule=obj)

    @admin.display(description=_("applies to"))
    def where(self, rule):
        return rule.where
