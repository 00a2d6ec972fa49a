from django.contrib import admin

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.messaging.models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(ScopedAdmin):
    list_display = ("created_at", "direction", "kind", "phone_masked", "service_case", "stage", "status", "text")
    list_filter = ("direction", "kind", "status", "created_at")
    search_fields = ("service_case__case_no",)
    list_select_related = ("service_case",)
    fields = (
        "direction",
        "kind",
        "phone_masked",
        "text",
        "service_case",
        "stage",
        "invitation",
        "rating",
        "status",
        "gateway_id",
        "error",
        "created_at",
        "sent_at",
        "answered_at",
    )
    readonly_fields = fields
    show_full_result_count = False

    # Messages are a record of what was sent and received: read-only here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
