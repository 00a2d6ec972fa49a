from django.contrib import admin

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.directory.models import Hall, Organisation, Platform, Region, ServiceItem, Staff, Window


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)


@admin.register(Organisation)
class OrganisationAdmin(ScopedAdmin):
    list_display = ("name", "uscc", "kind", "region", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "uscc", "short_name")
    autocomplete_fields = ("region", "parent")
    list_select_related = ("region",)


class WindowInline(admin.TabularInline):
    model = Window
    extra = 0
    autocomplete_fields = ("unit",)


@admin.register(Hall)
class HallAdmin(ScopedAdmin):
    list_display = ("code", "name", "kind", "region", "unit")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    autocomplete_fields = ("region", "unit")
    list_select_related = ("region", "unit")
    inlines = [WindowInline]


@admin.register(Window)
class WindowAdmin(ScopedAdmin):
    list_display = ("code", "name", "hall", "unit", "is_active")
    search_fields = ("code", "name", "hall__name")
    autocomplete_fields = ("hall", "unit")
    list_select_related = ("hall", "unit")


@admin.register(Staff)
class StaffAdmin(ScopedAdmin):
    list_display = ("code", "name", "unit", "window", "title", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    autocomplete_fields = ("unit", "window", "user")
    list_select_related = ("unit", "window__hall")


@admin.register(ServiceItem)
class ServiceItemAdmin(ScopedAdmin):
    list_display = ("implementation_code", "name", "item_type", "unit", "on_site", "online")
    list_filter = ("item_type", "on_site", "online")
    search_fields = ("implementation_code", "basic_code", "name")
    autocomplete_fields = ("unit", "region")
    list_select_related = ("unit",)


@admin.register(Platform)
class PlatformAdmin(ScopedAdmin):
    list_display = ("code", "name", "kind", "region", "unit")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    autocomplete_fields = ("region", "unit")
