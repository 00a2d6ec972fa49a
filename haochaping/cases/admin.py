"""Admin pages of the cases app.

Cases are changed only through the case pages (cases/services.case_act and its rules), so the admin shows them
read-only with their history. What administrators maintain here is the deadline policy per region (scoped:
an agency administrator edits the regions under it) and the holiday calendar (national: system administrators).
"""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.accounts.scope import scope_for_request
from haochaping.cases import workdays
from haochaping.cases.models import (
    Appeal,
    CalendarDay,
    CallbackAttempt,
    Case,
    CaseAttachment,
    CaseEvent,
    CasePolicy,
    Notification,
)

# "CP20261127-000123", "TS…-42", "#123" or "123": the digits after the last dash (or all of them) are the id.
_NUMBER = re.compile(r"^\s*(?:[A-Za-z]{2}\d{8}-|#)?0*(\d{1,12})\s*$")


class ReadOnlyInline(admin.TabularInline):
    """A case's history rows: shown, never added, changed or deleted here (they are append-only records)."""

    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("at", "action", "from_state", "to_state", "actor_label", "note", "data")
    verbose_name_plural = _("处理记录")


class CallbackAttemptInline(ReadOnlyInline):
    model = CallbackAttempt
    fields = ("at", "channel", "reached", "rater_said", "recorded_by", "recorded_at")


class AppealInline(ReadOnlyInline):
    model = Appeal
    fields = ("applied_at", "ground", "reason", "applied_by", "decision", "decided_by", "decided_at", "decision_note")


class CaseAttachmentInline(ReadOnlyInline):
    model = CaseAttachment
    # Not the file field itself: its URL would point into MEDIA_ROOT, and evidence is private. The link goes
    # through the case pages' view, which checks the data scope.
    fields = ("download", "content_type", "size", "sha256", "uploaded_by", "uploaded_at")

    @admin.display(description=_("文件"))
    def download(self, obj: CaseAttachment) -> str:
        return format_html('<a href="{}">{}</a>', reverse("cases:attachment", args=[obj.pk]), obj.name)


@admin.register(Case)
class CaseAdmin(ScopedAdmin):
    list_display = ("number", "kind", "state", "outcome", "unit", "handler", "due_on", "opened_at")
    list_filter = ("state", "outcome", "kind")
    search_fields = ("=id",)
    search_help_text = _("按工单编号搜索，如 CP20261127-000123 或 123")
    list_select_related = ("unit", "handler")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("number", "case_page", "kind", "state", "outcome", "unit", "region", "handler")}),
        (
            _("来源"),
            {
                "fields": (
                    "rating",
                    "service_case",
                    "service_item",
                    "hall",
                    "window",
                    "staff",
                    "channel",
                    "grade",
                    "summary",
                    "real_name",
                    "contact_phone_masked",
                )
            },
        ),
        (
            _("时限"),
            {
                "fields": (
                    "opened_at",
                    "due_on",
                    "callback_due",
                    "resolve_due",
                    "rectify_deadline",
                    "extended_deadline",
                    "extension_reason",
                    "paused_at",
                    "feedback_due",
                )
            },
        ),
        (
            _("办理"),
            {
                "fields": (
                    "called_back_at",
                    "facts",
                    "verified_at",
                    "measures",
                    "explanation",
                    "rectified_at",
                    "outcome_at",
                    "notified_at",
                    "notified_via",
                    "feedback_grade",
                    "feedback_comment",
                    "feedback_at",
                    "reopen_count",
                    "escalation_level",
                    "closed_at",
                    "close_reason",
                    "updated_at",
                )
            },
        ),
    )
    readonly_fields = ("number", "case_page", "contact_phone_masked")
    inlines = [CaseEventInline, CallbackAttemptInline, AppealInline, CaseAttachmentInline]

    @admin.display(description=_("工单编号"), ordering="id")
    def number(self, obj: Case) -> str:
        return obj.number

    @admin.display(description=_("工单页面"))
    def case_page(self, obj: Case) -> str:
        return format_html('<a href="{}">{}</a>', reverse("cases:detail", args=[obj.pk]), gettext("在工单页面办理"))

    @admin.display(description=_("联系电话"))
    def contact_phone_masked(self, obj: Case) -> str:
        return obj.contact_phone_masked if obj.contact_phone_enc else "—"

    def view_on_site(self, obj: Case) -> str:
        return reverse("cases:detail", args=[obj.pk])

    def get_search_results(self, request, queryset, search_term):
        # The number shown everywhere (CP20261127-000123) is the id with a prefix: search by the id in it.
        match = _NUMBER.match(search_term or "")
        if search_term and match is None:
            return queryset.none(), False
        if match:
            return queryset.filter(pk=int(match.group(1))), False
        return super().get_search_results(request, queryset, search_term)

    # Every change of a case goes through its rules (services.case_act) on the case page, with its history.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CasePolicy)
class CasePolicyAdmin(ScopedAdmin):
    """Deadlines per region: an agency administrator sets them for the regions under it (ScopedAdmin)."""

    list_display = (
        "region",
        "callback_days",
        "rectify_days",
        "extension_days",
        "appeal_review_days",
        "feedback_days",
        "due_soon_days",
        "escalate_after_days",
        "pause_for_rater",
        "updated_at",
    )
    list_filter = ("pause_for_rater",)
    search_fields = ("region__name", "region__code")
    list_select_related = ("region",)
    raw_id_fields = ("region",)
    # Saving clears the policy cache (cases/signals.py), so the next deadline already uses the new figures.


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """法定节假日调整: national, so only all-data administrators (system administrators) edit it."""

    list_display = ("date", "weekday", "is_workday", "name", "package_says")
    list_filter = ("is_workday",)
    search_fields = ("name",)
    date_hierarchy = "date"
    ordering = ("-date",)
    # Saving clears the working-day cache (cases/signals.py).

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarDay) -> str:
        return "一二三四五六日"[obj.date.weekday()]

    @admin.display(description=_("日历数据包"))
    def package_says(self, obj: CalendarDay) -> str:
        if obj.date.year not in workdays.PACKAGE_YEARS:
            return gettext("未收录")
        import chinese_calendar

        return gettext("上班") if chinese_calendar.is_workday(obj.date) else gettext("放假")

    def _may_edit(self, request) -> bool:
        scope = scope_for_request(request)
        return scope.kind == "all" and not scope.read_only

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._may_edit(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_edit(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            years = workdays.PACKAGE_YEARS
            messages.info(
                request,
                gettext(
                    "日历数据包收录了%(first)s年至%(last)s年国务院办公厅公布的放假和调休安排；"
                    "此处录入的日期优先于数据包。"
                )
                % {"first": years.start, "last": years[-1]},
            )
            this_year = workdays.today().year
            missing = workdays.uncovered_years(range(this_year, this_year + 2))
            if missing:
                messages.warning(
                    request,
                    gettext(
                        "%(years)s年的节假日安排尚未录入：公布后请在此逐日录入放假日期和调休上班日期。"
                        "录入前只按周末和元旦、劳动节、国庆节的固定日期计算工作日，春节等农历假期不会扣除。"
                    )
                    % {"years": "、".join(str(y) for y in missing)},
                )
        return super().changelist_view(request, extra_context)


@admin.register(Notification)
class NotificationAdmin(ScopedAdmin):
    """站内提醒, read-only and for system administrators only (each user reads their own on the case pages)."""

    list_display = ("created_at", "recipient", "kind", "case", "text", "read_at")
    list_filter = ("kind", "created_at")
    search_fields = ("recipient__username", "text")
    list_select_related = ("recipient", "case")
    fields = ("created_at", "recipient", "kind", "case", "text", "read_at")
    readonly_fields = fields
    show_full_result_count = False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and scope_for_request(request).kind == "all"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
