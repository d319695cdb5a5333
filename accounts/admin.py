from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError

from .forms import ClientAdminForm, StaffUserChangeForm, StaffUserCreationForm
from .models import Address, Client, IPObservation, User
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
class ClientAdmin(admin.ModelAdmin):
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

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data[k] for k in ["full_name", "email", "phone", "country", "region", "preferred_language", "user"]}
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
