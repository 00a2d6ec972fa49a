from django.contrib import admin

from haochaping.accounts.admin_scope import ReadOnlyAdmin
from haochaping.hotline.models import Callback, HotlineLink, WorkOrder


@admin.register(HotlineLink)
class HotlineLinkAdmin(ReadOnlyAdmin):
    """Edited on /hotline/ (which encrypts the credential and never shows it back)."""

    list_display = ("region", "enabled", "endpoint", "include_complaints", "updated_at")
    list_filter = ("enabled",)


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin):
    list_display = ("order_no", "work_order_no", "state", "remote_status", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("state",)
    search_fields = ("order_no", "work_order_no")


@admin.register(Callback)
class CallbackAdmin(ReadOnlyAdmin):
    list_display = ("call_id", "called_at", "grade", "outcome", "service_case_no", "rating_public_id")
    list_filter = ("outcome",)
    search_fields = ("call_id", "service_case_no")
