"""The audit logs in the admin: read-only for everyone, superusers included (append-only records)."""

from django.contrib import admin

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.audit.models import AdminAction, IdentityAccess


class ReadOnlyAuditAdmin(ScopedAdmin):
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


@admin.register(IdentityAccess)
class IdentityAccessAdmin(ReadOnlyAuditAdmin):
    list_display = ("at", "username", "record_kind", "record_id", "field", "reason", "ip")
    list_filter = ("field", "record_kind", "at")
    search_fields = ("username", "record_id", "rating_public_id", "case_number", "service_case_no")


@admin.register(AdminAction)
class AdminActionAdmin(ReadOnlyAuditAdmin):
    list_display = ("at", "actor_name", "source", "action", "app_label", "model", "object_id", "object_repr")
    list_filter = ("source", "action", "model", "at")
    search_fields = ("actor_name", "object_id", "object_repr")
