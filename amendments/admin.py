from django.contrib import admin

from .models import PolicyVersion


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ["label", "is_material", "published_at", "effective_at"]
    readonly_fields = ["published_at"]

    def has_change_permission(self, request, obj=None):
        # A published version never changes; the amendments work adds drafts and publishing.
        if obj is not None and obj.published_at:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.published_at is None
