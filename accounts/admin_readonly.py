"""The admin base for evidence (ledger events, sharing records, delivery rows): viewable with the view permission;
added, changed and deleted by nobody, superusers included. Corrections are new rows, made through services."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
