from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.accounts.scope import scope_for_request
from haochaping.lib.errors import DomainError
from haochaping.qrcodes import services, signs
from haochaping.qrcodes.models import WindowCode


class StatusFilter(admin.SimpleListFilter):
    title = _("状态")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", _("使用中")), ("revoked", _("已作废"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(WindowCode)
class WindowCodeAdmin(ScopedAdmin):
    list_display = ("window", "unit", "status", "page_link", "sign_link", "created_at", "revoked_at")
    list_filter = (StatusFilter, "created_at")
    search_fields = ("window__code", "window__name", "window__hall__name", "slug")
    list_select_related = ("window__hall", "window__unit")
    autocomplete_fields = ("window",)
    actions = ["reset_codes", "download_signs"]

    def get_readonly_fields(self, request, obj=None):
        return ("window", "slug", "created_at", "created_by", "revoked_at") if obj else ()

    def has_change_permission(self, request, obj=None):
        # A code is never edited: it is reset (new slug) by the action, so the change page is read-only.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # "Adding" a code for a window issues it through the service (revoking the window's active code, if any).
        issued = services.window_code_issue(window=obj.window, user=request.user)
        obj.pk, obj.slug, obj.created_at = issued.pk, issued.slug, issued.created_at

    @admin.display(description=_("进驻单位"))
    def unit(self, obj: WindowCode):
        return obj.window.unit

    @admin.display(description=_("状态"), boolean=True)
    def status(self, obj: WindowCode) -> bool:
        return obj.is_active

    @admin.display(description=_("评价页"))
    def page_link(self, obj: WindowCode):
        if not obj.is_active:
            return "—"
        return format_html('<a href="{}" target="_blank">{}</a>', reverse("qrcodes:window", args=[obj.slug]), obj.slug)

    @admin.display(description=_("评价牌"))
    def sign_link(self, obj: WindowCode):
        if not obj.is_active:
            return "—"
        return format_html('<a href="{}">PDF</a>', reverse("qrcodes:sign", args=[obj.slug]))

    @admin.action(description=_("生成/重置窗口二维码"), permissions=["change"])
    def reset_codes(self, request, queryset):
        try:
            scope_for_request(request).require_write()
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return None
        windows = {c.window_id: c.window for c in queryset.select_related("window")}
        for window in windows.values():
            services.window_code_issue(window=window, user=request.user)
        self.message_user(
            request,
            _("已为%(n)d个窗口生成新二维码，原评价牌已作废，请重新打印。") % {"n": len(windows)},
            messages.SUCCESS,
        )
        return None

    @admin.action(description=_("下载所选窗口的评价牌（PDF）"))
    def download_signs(self, request, queryset):
        codes = list(
            queryset.filter(revoked_at__isnull=True)
            .select_related("window__hall", "window__unit")
            .order_by("window__hall__code", "window__code")
        )
        if not codes:
            self.message_user(request, _("所选二维码均已作废，没有可打印的评价牌。"), messages.WARNING)
            return None
        response = HttpResponse(signs.render_signs(codes), content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="window-signs.pdf"'
        return response
