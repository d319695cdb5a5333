from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .admin_access import StaffAccessAdminMixin, export_selected_clients
from .admin_readonly import ReadOnlyAdmin
from .forms import ClientAdminForm, StaffUserChangeForm, StaffUserCreationForm
from .models import Address, Client, IPObservation, StaffAccess, User
from .services import client_create, client_update


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
    raw_id_fields = ["user"]
    inlines = [AddressInline, IPObservationInline]
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

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data[k]
                for k in ["full_name", "email", "phone", "country", "region", "preferred_language", "user"]}
        data["country"] = str(data["country"])
        try:
            if change:
                client_update(client=Client.objects.get(pk=obj.pk), **data)
            else:
                form.instance = client_create(**data)
                obj.pk = form.instance.pk
        except ValidationError as exc:  # the form validated the same rules; only a race gets here
            raise ValidationError(exc.messages) from exc


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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

    @admin.display(description=_("client reference"), ordering="client__public_id")
    def client_reference(self, access):
        return access.client.public_id  # the UUID, not the name: the log shows no personal data of its own

    @admin.display(description=_("fields"))
    def shown_fields(self, access):
        return ", ".join(access.fields)
