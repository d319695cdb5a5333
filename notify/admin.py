"""Outbound messages are delivery evidence: staff may read them, nobody adds, edits or deletes them here."""

from django.contrib import admin
from django.template.defaultfilters import truncatechars
from django.utils.translation import gettext_lazy as _

from accounts.admin_access import StaffAccessAdminMixin
from accounts.admin_readonly import ReadOnlyAdmin

from .models import OutboundMessage


@admin.register(OutboundMessage)
class OutboundMessageAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    list_display = ["kind", "channel", "to", "status", "attempts", "created_at", "finished_at", "short_error"]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["to", "=public_id", "kind"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = readonly_fields = ["public_id", "kind", "channel", "client", "to", "subject", "shown_body", "attachment_name",
                                "status", "attempts", "last_error", "created_at", "sending_started_at", "finished_at"]

    @admin.display(description=_("last error"))
    def short_error(self, message):
        return truncatechars(message.last_error, 80)

    @admin.display(description=_("body"))
    def shown_body(self, message):
        # A password-reset link is a key to the account: staff see that it was sent, never the link itself.
        if message.wipe_body_after_send:
            return _("(hidden: this message carries a one-time secret)")
        return message.body


