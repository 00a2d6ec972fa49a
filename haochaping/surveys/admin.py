"""Admin: surveys and questions are edited on /surveys/ (the builder keeps its rules); here everything is read-only,
invitations, responses and answers especially (they are the record of who was asked and what was answered)."""

from django.contrib import admin

from haochaping.accounts.admin_scope import ReadOnlyAdmin
from haochaping.surveys.models import Answer, Invitation, Question, Response, Survey


class QuestionInline(admin.TabularInline):
    model = Question
    fields = ("order", "kind", "text", "required", "options", "scale_max")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdmin):
    list_display = ("title", "region", "unit", "service_item", "state", "opened_at", "closed_at")
    list_filter = ("state",)
    search_fields = ("title",)
    inlines = [QuestionInline]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("id", "survey", "channel", "unit", "service_item", "created_at", "opened_at", "responded_at")
    list_filter = ("channel",)
    exclude = ("token_hash", "phone_hash")
    raw_id_fields = ("survey", "service_case", "sms")


class AnswerInline(admin.TabularInline):
    model = Answer
    fields = ("question", "choices", "scale", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ("id", "survey", "invitation", "submitted_at", "score")
    raw_id_fields = ("invitation", "survey")
    inlines = [AnswerInline]


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = ("id", "response", "question", "choices", "scale", "text")
    raw_id_fields = ("response", "question")
