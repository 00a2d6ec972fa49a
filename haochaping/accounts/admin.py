from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.accounts.apikeys import api_key_create, api_key_revoke
from haochaping.accounts.models import ApiKey, Membership, Role


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    list_display = ("user", "role", "unit")
    list_filter = ("role",)
    search_fields = ("user__username", "unit__name")
    autocomplete_fields = ("user", "unit")

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        # Only a superuser may grant the all-data role.
        if db_field.name == "role" and not request.user.is_superuser:
            kwargs["choices"] = [c for c in Role.choices if c[0] != Role.SYSTEM_ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        # Nobody but a superuser changes their own role.
        if obj is not None and obj.user_id == request.user.id and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedAdmin):
    list_display = ("name", "prefix", "unit", "region", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at", "created_by")
    fields = (
        "name",
        "unit",
        "region",
        "allowed_origins",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    autocomplete_fields = ("unit", "region")
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, secret = api_key_create(name=obj.name, unit=obj.unit, region=obj.region, created_by=request.user)
        obj.pk = key.pk
        obj.prefix, obj.key_hash = key.prefix, key.key_hash
        if obj.allowed_origins:  # api_key_create knows nothing of the widget's origins
            ApiKey.objects.filter(pk=key.pk).update(allowed_origins=obj.allowed_origins)
        messages.warning(request, _("接口密钥只显示这一次，请立即保存：") + secret)

    @admin.action(description=_("吊销所选接口密钥"))
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key)
        messages.success(request, _("已吊销"))
