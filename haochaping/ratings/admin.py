from django.contrib import admin

from haochaping.accounts.admin_scope import ScopedAdmin
from haochaping.accounts.scope import scope_for_request
from haochaping.ratings import questionnaires
from haochaping.ratings.models import (
    DefaultRatingPolicy,
    Questionnaire,
    QuestionnaireAssignment,
    Rating,
    RatingOffer,
    ServiceCase,
    Tag,
    TagSet,
)


@admin.register(ServiceCase)
class ServiceCaseAdmin(ScopedAdmin):
    list_display = ("case_no", "service_item", "unit", "stage", "status", "applicant_phone_masked", "created_at")
    search_fields = ("case_no",)
    # No date_hierarchy: its DISTINCT over millions of rows is slow on SQLite; the date filter is indexed.
    list_filter = ("stage", "status", "online", "created_at")
    list_select_related = ("service_item", "unit")
    readonly_fields = ("applicant_phone_masked", "applicant_cert_masked")
    raw_id_fields = ("service_item", "unit", "region", "hall", "window", "staff", "registered_by")
    show_full_result_count = False

    # 办件 are registered by business systems through the API (which issues the evaluation token); the admin
    # shows them.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TagInline(admin.TabularInline):
    model = Tag
    extra = 0


@admin.register(TagSet)
class TagSetAdmin(admin.ModelAdmin):
    list_display = ("code", "version", "kind", "name", "is_active")
    inlines = [TagInline]


@admin.register(Rating)
class RatingAdmin(ScopedAdmin):
    list_display = ("public_id", "grade", "channel", "target", "unit", "staff", "is_default", "adoption", "rated_at")
    list_filter = ("rated_at", "grade", "channel", "target", "is_default", "adoption")
    search_fields = ("service_case__case_no", "comment")
    # No date_hierarchy: its DISTINCT over millions of rows is slow on SQLite; the date filter is indexed.
    # Prefetch instead of JOIN: with a join SQLite's planner sorts the whole table instead of walking the
    # primary key backwards for "newest first, LIMIT 100".
    list_select_related = ()  # () rather than False: False makes the admin select_related() everything

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("unit", "staff")

    raw_id_fields = (
        "service_case",
        "service_item",
        "unit",
        "region",
        "hall",
        "window",
        "staff",
        "platform",
        "tag_set",
        "questionnaire",
    )
    readonly_fields = ("public_id", "rater_phone_masked")
    exclude = ("rater_name_enc", "rater_phone_enc", "rater_cert_enc", "rater_phone_hash", "rater_cert_hash")
    show_full_result_count = False

    # Window staff see the ratings of their own service but never who gave them (评价人信息保护): no contact,
    # and no 办件 (its number leads to the applicant), neither shown nor searchable.
    STAFF_HIDDEN = ("rater_phone_masked", "service_case")

    def _for_staff(self, request) -> bool:
        return scope_for_request(request).kind == "staff"

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return [f for f in fields if f not in self.STAFF_HIDDEN] if self._for_staff(request) else fields

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return tuple(f for f in fields if f not in self.STAFF_HIDDEN) if self._for_staff(request) else fields

    def get_search_fields(self, request):
        return ("comment",) if self._for_staff(request) else super().get_search_fields(request)

    # Ratings are evidence: they enter only through the intake path (with its rules) and are corrected by new
    # events (not-adopted decisions), never edited or added by hand here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RatingOffer)
class RatingOfferAdmin(ScopedAdmin):
    list_display = ("offered_at", "kind", "channel", "service_case", "unit", "window", "source")
    list_filter = ("kind", "channel", "offered_at")
    list_select_related = ()
    raw_id_fields = ("service_case", "unit", "region", "window", "staff")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("unit", "window__hall", "service_case")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DefaultRatingPolicy)
class DefaultRatingPolicyAdmin(ScopedAdmin):
    list_display = ("region", "enabled", "after_days", "grade", "stage", "updated_at")
    list_filter = ("enabled", "grade")
    search_fields = ("region__name", "region__code")
    list_select_related = ("region",)
    raw_id_fields = ("region",)


class QuestionnaireAssignmentInline(admin.TabularInline):
    model = QuestionnaireAssignment
    extra = 0
    raw_id_fields = ("service_item",)


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    list_display = ("code", "version", "kind", "name", "is_active", "created_at")
    list_filter = ("kind", "is_active")
    inlines = [QuestionnaireAssignmentInline]

    # A saved version's questions are fixed: ratings refer to it, so their answers keep their meaning. A change
    # of questions is a new questionnaire row (same code, next version).
    def get_readonly_fields(self, request, obj=None):
        return ("code", "version", "kind", "questions") if obj else ()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        questionnaires.clear_cache()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        questionnaires.clear_cache()
