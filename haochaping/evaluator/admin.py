from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.evaluator import services
from haochaping.evaluator.models import (
    EvaluatorDevice,
    EvaluatorPrompt,
    LegacyDevice,
    LegacyDeviceModel,
    LegacyPress,
    PairingCode,
)


@admin.register(PairingCode)
class PairingCodeAdmin(ScopedAdmin):
    """Adding a pairing code for a window shows the code once; only its hash is kept."""

    list_display = ("window", "created_by", "created_at", "expires_at", "used_at", "device")
    list_select_related = ("window", "window__hall", "created_by", "device")
    fields = ("window",)
    raw_id_fields = ("window",)

    def save_model(self, request, obj, form, change):
        row, code = services.pairing_code_create(window=obj.window, created_by=request.user)
        obj.pk, obj.code_hash, obj.created_at, obj.expires_at = row.pk, row.code_hash, row.created_at, row.expires_at
        messages.success(
            request,
            _(
                "窗口 %(window)s 的配对码：%(code)s（10分钟内有效，只能使用一次）。"
                "请在评价器上打开 /evaluator/pair/ 输入。"
            )
            % {"window": obj.window, "code": code},
        )

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EvaluatorDevice)
class EvaluatorDeviceAdmin(ScopedAdmin):
    list_display = ("name", "window", "paired_at", "last_seen_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("window", "window__hall")
    fields = ("name", "window", "paired_at", "last_seen_at", "revoked_at")
    readonly_fields = ("window", "paired_at", "last_seen_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # devices come from pairing codes

    @admin.action(description=_("停用所选评价器（吊销凭据）"))
    def revoke(self, request, queryset):
        if self._read_only(request):
            return
        for device in queryset.filter(revoked_at=None):
            services.device_revoke(device=device)
        self.message_user(request, _("已停用；这些设备需重新配对才能使用。"))


@admin.register(EvaluatorPrompt)
class EvaluatorPromptAdmin(ScopedAdmin):
    list_display = (
        "id",
        "window",
        "service_case",
        "staff",
        "source",
        "created_at",
        "shown_at",
        "rated_at",
        "expired_at",
    )
    list_select_related = ("window", "window__hall", "service_case", "staff")
    list_filter = ("created_at",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LegacyDeviceModel)
class LegacyDeviceModelAdmin(admin.ModelAdmin):
    """Read here; mappings are edited on /evaluator/legacy/ (validated, versioned and audit-logged there)."""

    list_display = ("code", "name", "vendor", "buttons", "version", "region", "is_active", "updated_at")
    list_select_related = ("region",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LegacyDevice)
class LegacyDeviceAdmin(ScopedAdmin):
    list_display = ("serial", "name", "window", "model", "registered_at", "last_seen_at", "revoked_at")
    list_filter = ("revoked_at", "model")
    list_select_related = ("window", "window__hall", "model")
    search_fields = ("serial", "name")

    def has_add_permission(self, request):
        return False  # registered on /evaluator/legacy/ or through the API

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LegacyPress)
class LegacyPressAdmin(ScopedAdmin):
    list_display = ("id", "device", "kind", "button", "grade", "mapping_version", "prompt", "at", "received_at")
    list_select_related = ("device", "device__window", "device__window__hall", "prompt")
    list_filter = ("kind", "at")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
