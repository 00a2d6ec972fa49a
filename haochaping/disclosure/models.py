"""What the public portal publishes that needs a decision: bad reviews and what was done about them (整改公开).

A ``Publication`` is the public copy of one case that reached an outcome: only figures and texts that may be shown,
with personal data removed automatically (``comment_auto``/``response_auto``, the insight masking pipeline) and then
by a moderator (``comment``/``response``, what is shown). Nothing is public until a moderator publishes it; a
moderator may withhold it with a reason. Every step is a ``ModerationEvent`` (append-only, never public).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haochaping.cases.models import Case, FeedbackGrade, Kind, Outcome
from haochaping.directory.models import Hall, Organisation, Region, ServiceItem
from haochaping.ratings.codes import Grade


class Publication(models.Model):
    """整改公开条目: the public copy of one case with an outcome, moderated before publication."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        PUBLISHED = "published", _("已公开")
        WITHHELD = "withheld", _("不予公开")

    case = models.OneToOneField(Case, verbose_name=_("工单"), on_delete=models.PROTECT, related_name="publication")
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Organisation, verbose_name=_("责任单位"), on_delete=models.PROTECT, related_name="+")
    service_item = models.ForeignKey(
        ServiceItem, verbose_name=_("事项"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hall = models.ForeignKey(
        Hall, verbose_name=_("大厅"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    grade = models.PositiveSmallIntegerField(_("满意度"), choices=Grade.choices, null=True, blank=True)
    opened_on = models.DateField(_("受理日期"))
    outcome = models.CharField(_("处理方式"), max_length=12, choices=Outcome.choices)
    outcome_on = models.DateField(_("处理日期"), null=True, blank=True)
    deadline = models.DateField(_("整改期限"), null=True, blank=True)
    rectified_on = models.DateField(_("整改完成日期"), null=True, blank=True)
    feedback_grade = models.PositiveSmallIntegerField(
        _("评价人对处理结果的评价"), choices=FeedbackGrade.choices, null=True, blank=True
    )
    # The rater's text: only when they allowed publication (Rating.is_public); complaints never show theirs.
    comment_allowed = models.BooleanField(_("评价人同意公开文字"), default=False)
    comment_auto = models.TextField(_("评价内容（自动脱敏）"), blank=True)
    comment = models.TextField(_("评价内容（公开文本）"), blank=True)
    # The unit's measures (整改措施) or explanation (解释说明), masked the same way.
    response_auto = models.TextField(_("处理情况（自动脱敏）"), blank=True)
    response = models.TextField(_("处理情况（公开文本）"), blank=True)
    status = models.CharField(_("公开状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    withheld_reason = models.TextField(_("不予公开理由"), blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    moderated_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("公开时间"), null=True, blank=True)
    # The case's updated_at when this copy was last taken from it: a later change of the case is picked up.
    synced_at = models.DateTimeField(_("同步时间"), default=timezone.now)
    source_updated_at = models.DateTimeField(_("工单更新时间"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("整改公开条目")
        verbose_name_plural = _("整改公开条目")
        ordering = ["-outcome_on", "-id"]
        indexes = [
            models.Index(fields=["status", "outcome_on"]),
            models.Index(fields=["region", "status"]),
            models.Index(fields=["unit", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_status_display()}"


class ModerationEvent(models.Model):
    """审核记录: one step of a publication's moderation (automatic masking, redaction, publish, withhold …).

    Kept for accountability and never shown on the public portal. Append-only."""

    class Action(models.TextChoices):
        CREATED = "created", _("生成（自动脱敏）")
        REFRESHED = "refreshed", _("工单变化后更新")
        REDACTED = "redacted", _("人工删改")
        PUBLISHED = "published", _("公开")
        WITHHELD = "withheld", _("不予公开")
        RESTORED = "restored", _("恢复待审核")
        RETRACTED = "retracted", _("撤回公开（工单重新办理）")

    publication = models.ForeignKey(
        Publication, verbose_name=_("整改公开条目"), on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField(_("动作"), max_length=12, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    actor_label = models.CharField(_("操作方"), max_length=60)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    reason = models.TextField(_("理由"), blank=True)
    # The texts before and after the step (redactions), so the history shows what was removed.
    before = models.JSONField(_("变更前"), default=dict, blank=True)
    after = models.JSONField(_("变更后"), default=dict, blank=True)

    class Meta:
        verbose_name = _("审核记录")
        verbose_name_plural = _("审核记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.publication_id} {self.action} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("审核记录只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("审核记录只能追加，不能删除")


class SyncCursor(models.Model):
    """Where the publication sync stopped: cases updated after ``updated_after`` are looked at next time."""

    name = models.CharField(max_length=40, unique=True)
    updated_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("同步游标")
        verbose_name_plural = _("同步游标")

    def __str__(self) -> str:
        return self.name
