from django.contrib import admin

from haochaping.accounts.admin_scope import ReadOnlyAdmin
from haochaping.exchange.models import CaseOutcome, Delivery, DropFile, ReceivedBatch, Subordinate


@admin.register(Subordinate)
class SubordinateAdmin(ReadOnlyAdmin):
    """Registered on /exchange/ or with `haochaping exchange register` (which issue the key); revoke the key to stop."""

    list_display = ("code", "name", "region", "received", "duplicates", "rejected", "last_push_at")
    search_fields = ("code", "name")


@admin.register(ReceivedBatch)
class ReceivedBatchAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "subordinate", "records", "accepted", "duplicates", "rejected")
    list_filter = ("subordinate",)


@admin.register(CaseOutcome)
class CaseOutcomeAdmin(ReadOnlyAdmin):
    list_display = ("origin", "case_no", "unit", "state", "outcome", "on_time", "updated_at")
    list_filter = ("state", "outcome")
    search_fields = ("case_no",)


@admin.register(DropFile)
class DropFileAdmin(ReadOnlyAdmin):
    list_display = ("name", "api_key", "state", "received_at", "rows", "stored", "duplicates", "rejected")
    list_filter = ("state",)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The push's delivery log: installation-wide, so the system administrator's."""

    list_display = ("started_at", "status", "records", "accepted", "duplicates", "rejected", "http_status")
    list_filter = ("status",)

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser
