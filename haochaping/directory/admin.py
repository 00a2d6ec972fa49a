from functools import partial

from django.contrib import admin
from django.urls import path

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.directory.models import Hall, Organisation, Platform, Region, ServiceItem, Staff, Window
from haochaping.directory.views import can_import, directory_import, directory_import_template


class DirectoryAdmin(ScopedAdmin):
    """Directory lists carry a "批量导入" button for whoever may import (views.directory_import)."""

    change_list_template = "admin/directory/change_list_import.html"

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import_directory": can_import(request.user)}
        return super().changelist_view(request, extra_context)


@admin.register(Region)
class RegionAdmin(DirectoryAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)


@admin.register(Organisation)
class OrganisationAdmin(DirectoryAdmin):
    list_display = ("name", "uscc", "kind", "category", "region", "is_active")
    list_filter = ("kind", "category", "is_active")
    search_fields = ("name", "uscc", "short_name")
    autocomplete_fields = ("region", "parent")
    list_select_related = ("region",)

    def get_urls(self):
        # /admin/directory/organisation/import/: the import of every directory kind lives next to the units.
        site = self.admin_site
        return [
            path("import/", site.admin_view(partial(directory_import, admin_site=site)), name="directory_import"),
            path(
                "import/template/",
                site.admin_view(directory_import_template),
                name="directory_import_template",
            ),
            *super().get_urls(),
        ]


class WindowInline(admin.TabularInline):
    model = Window
    extra = 0
    autocomplete_fields = ("unit",)


@admin.register(Hall)
class HallAdmin(DirectoryAdmin):
    list_display = ("code", "name", "kind", "region", "unit")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    autocomplete_fields = ("region", "unit")
    list_select_related = ("region", "unit")
    inlines = [WindowInline]


@admin.register(Window)
class WindowAdmin(DirectoryAdmin):
    list_display = ("code", "name", "hall", "unit", "is_active")
    search_fields = ("code", "name", "hall__name")
    autocomplete_fields = ("hall", "unit")
    list_select_related = ("hall", "unit")


@admin.register(Staff)
class StaffAdmin(DirectoryAdmin):
    list_display = ("code", "name", "unit", "window", "title", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    autocomplete_fields = ("unit", "window", "user")
    list_select_related = ("unit", "window__hall")


@admin.register(ServiceItem)
class ServiceItemAdmin(DirectoryAdmin):
    list_display = ("implementation_code", "name", "item_type", "unit", "on_site", "online")
    list_filter = ("item_type", "on_site", "online")
    search_fields = ("implementation_code", "basic_code", "name")
    autocomplete_fields = ("unit", "region")
    list_select_related = ("unit",)


@admin.register(Platform)
class PlatformAdmin(DirectoryAdmin):
    list_display = ("code", "name", "kind", "region", "unit")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    autocomplete_fields = ("region", "unit")
