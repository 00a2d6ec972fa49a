"""Admin: checklists and plans are kept on the product's pages (/inspections/…); the roles read them here (only a
user with change permission, e.g. a superuser, may correct one). Inspection records, item scores and photos are
evidence and read-only for everyone. Every list goes through the data scope."""

from django.contrib import admin

from haochaping.accounts.admin_scope import ReadOnlyAdmin, ScopedAdmin
from haochaping.inspections.models import Checklist, ChecklistItem, Inspection, ItemScore, Photo, Plan


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = ("order", "category", "text", "max_score", "pass_score", "is_active")


@admin.register(Checklist)
class ChecklistAdmin(ScopedAdmin):
    list_display = ("name", "region", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    inlines = [ChecklistItemInline]
    readonly_fields = ("created_by", "created_at")


@admin.register(Plan)
class PlanAdmin(ScopedAdmin):
    list_display = ("name", "region", "mode", "starts_on", "ends_on", "visits")
    list_filter = ("mode",)
    search_fields = ("name",)
    filter_horizontal = ("halls", "windows", "inspectors")
    readonly_fields = ("created_by", "created_at")


class ItemScoreInline(admin.TabularInline):
    model = ItemScore
    extra = 0
    fields = ("item", "score", "passed", "note", "rectification")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "hall", "window", "unit", "mode", "inspector", "state", "score", "failed_items")
    list_filter = ("state", "mode")
    search_fields = ("hall__name", "unit__name")
    inlines = [ItemScoreInline]


@admin.register(ItemScore)
class ItemScoreAdmin(ReadOnlyAdmin):
    list_display = ("inspection", "item", "score", "passed", "rectification")
    list_filter = ("passed",)

    def get_queryset(self, request):
        from haochaping.accounts.scope import scope_for_request

        visible = scope_for_request(request).filter(Inspection.objects.all())
        return super(ScopedAdmin, self).get_queryset(request).filter(inspection__in=visible)


@admin.register(Photo)
class PhotoAdmin(ReadOnlyAdmin):
    list_display = ("name", "inspection", "item", "content_type", "size", "uploaded_by", "uploaded_at")

    def get_queryset(self, request):
        from haochaping.accounts.scope import scope_for_request

        visible = scope_for_request(request).filter(Inspection.objects.all())
        return super(ScopedAdmin, self).get_queryset(request).filter(inspection__in=visible)
