"""Admin integration of the data scope: every admin list and lookup goes through accounts.scope."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404

from haochaping.accounts.scope import scope_for_request


class ScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose querysets (lists, change pages, autocompletes) are limited to the user's scope."""

    def get_queryset(self, request):
        return scope_for_request(request).filter(super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices (and so the values a submitted form may carry) are limited to the scope too: an agency
        # administrator cannot attach a window, key or staff member to another region's unit.
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(db_field.related_model, "SCOPE_LOOKUPS"):
            field.queryset = scope_for_request(request).filter(field.queryset)
        return field

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index for a missing object; outside the scope we answer 404 instead, the same
        # as for an object that does not exist, so other regions' objects cannot be probed.
        raise Http404(f"{opts.verbose_name} 不存在或不在您的数据范围内")

    def _read_only(self, request) -> bool:
        return scope_for_request(request).read_only

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) and not self._read_only(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not self._read_only(request)

    def has_delete_permission(self, request, obj=None):
        # Records are never deleted through the product (deactivate instead); superusers may clean up.
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class ReadOnlyAdmin(ScopedAdmin):
    """Records kept by their own pages or services (evidence, deliveries, imports): listed and read here, never
    added, changed or deleted through the admin."""

    def has_add_permission(self, request, *args) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
