"""Admin: publications and their moderation history, read-only and limited to the user's scope.

Moderation itself happens on /disclosure/moderation/ (services with events); the admin is for looking things up."""

from __future__ import annotations

from django.contrib import admin

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.accounts.scope import scope_for_request
from haochaping.disclosure.models import ModerationEvent, Publication


class ReadOnly:
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Publication)
class PublicationAdmin(ReadOnly, ScopedAdmin):
    list_display = ("id", "case", "unit", "outcome", "status", "opened_on", "published_at")
    list_filter = ("status", "outcome", "kind")
    list_select_related = ("case", "unit")
    date_hierarchy = "opened_on"
    search_fields = ("unit__name",)


@admin.register(ModerationEvent)
class ModerationEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("publication", "action", "actor_label", "at")
    list_filter = ("action",)
    list_select_related = ("publication",)

    def get_queryset(self, request):
        pubs = scope_for_request(request).filter(Publication.objects.all())
        return super().get_queryset(request).filter(publication__in=pubs)
