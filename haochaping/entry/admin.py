from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.entry.models import KeyedEntry


@admin.register(KeyedEntry)
class KeyedEntryAdmin(ScopedAdmin):
    """Read-only: who keyed which hotline call or paper form. Entries are made on /entry/ pages only."""

    list_display = ("keyed_at", "kind", "channel", "form_no", "call_ref", "unit", "grade", "keyed_by", "scan_link")
    list_filter = ("kind", "keyed_at")
    search_fields = ("form_no", "call_ref", "rating__service_case__case_no")
    list_select_related = ("rating", "unit", "keyed_by")
    show_full_result_count = False
    fields = (
        "rating_link",
        "kind",
        "channel",
        "grade",
        "unit",
        "form_no",
        "scan_link",
        "call_ref",
        "call_at",
        "keyed_by",
        "keyed_at",
        "source",
    )
    readonly_fields = fields

    @admin.display(description=_("评价渠道"))
    def channel(self, obj: KeyedEntry) -> str:
        return obj.rating.get_channel_display()

    @admin.display(description=_("满意度"))
    def grade(self, obj: KeyedEntry) -> str:
        return obj.rating.get_grade_display()

    @admin.display(description=_("评价"))
    def rating_link(self, obj: KeyedEntry) -> str:
        url = reverse("admin:ratings_rating_change", args=[obj.rating_id])
        return format_html('<a href="{}">{}</a>', url, obj.rating.public_id)

    @admin.display(description=_("扫描件"))
    def scan_link(self, obj: KeyedEntry) -> str:
        # Served by /entry/scan/<id>/, which checks the viewer's scope again: media files are never public.
        if not obj.scan:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("entry:scan", args=[obj.pk]), _("查看"))

    # Whoever may view ratings may view how they were keyed (inside their scope, via ScopedAdmin).
    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and request.user.has_perm("ratings.view_rating")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
