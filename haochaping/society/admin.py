"""Admin: third-party assessment imports are read-only here (imported and superseded on /assessments/ only, so that
the all-or-nothing checks and the supersede rule always apply). Suggestions are cases (cases admin, kind 意见建议)."""

from django.contrib import admin

from haochaping.accounts.admin_scope import ReadOnlyAdmin
from haochaping.society.models import AssessmentImport, AssessmentScore


class ScoreInline(admin.TabularInline):
    model = AssessmentScore
    fields = ("unit", "score", "rank", "sub_scores", "remarks")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AssessmentImport)
class AssessmentImportAdmin(ReadOnlyAdmin):
    list_display = ("firm", "title", "region", "period_start", "period_end", "rows", "uploaded_by", "uploaded_at",
                    "superseded_by")  # fmt: skip
    list_filter = ("period_start",)
    search_fields = ("firm", "title", "sha256")
    inlines = [ScoreInline]


@admin.register(AssessmentScore)
class AssessmentScoreAdmin(ReadOnlyAdmin):
    list_display = ("assessment", "unit", "score", "rank")
    search_fields = ("unit__name", "unit__uscc")
    list_select_related = ("assessment", "unit")
