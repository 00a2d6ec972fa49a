"""第三方评估: an assessment firm's results, imported from its filled-in template, one score per unit and period.

Suggestions (意见箱) are cases (cases.Case, kind 意见建议) and have no model here.
An import is all or nothing; importing the same firm's results for the same period and region again supersedes
the earlier import (kept, marked superseded), so figures never count a unit twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Organisation, Region


class AssessmentImport(models.Model):
    """One uploaded results file of one firm for one period."""

    SCOPE_LOOKUPS = {"region": "region__path"}

    firm = models.CharField(_("评估机构"), max_length=100)
    title = models.CharField(_("评估项目"), max_length=200, blank=True)
    region = models.ForeignKey(Region, verbose_name=_("评估区划"), on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(_("评估期起"))
    period_end = models.DateField(_("评估期止"))
    file_name = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(_("文件 SHA-256"), max_length=64)
    rows = models.PositiveIntegerField(_("单位数"), default=0)
    dimensions = models.JSONField(_("分项"), default=list, blank=True)  # the sub-score column names, in order
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("导入人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("导入时间"), default=timezone.now)
    superseded_by = models.ForeignKey(
        "self", verbose_name=_("被替换为"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("第三方评估导入")
        verbose_name_plural = _("第三方评估导入")
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="assessment_period_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.firm} {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"


class AssessmentScore(models.Model):
    """One unit's result in one import: the overall score (0–100), sub-scores, rank and the firm's remarks."""

    SCOPE_LOOKUPS = {"region": "unit__region__path", "unit": "unit_id"}

    assessment = models.ForeignKey(
        AssessmentImport, verbose_name=_("评估导入"), on_delete=models.CASCADE, related_name="scores"
    )
    unit = models.ForeignKey(Organisation, verbose_name=_("被评估单位"), on_delete=models.PROTECT, related_name="+")
    score = models.DecimalField(_("综合得分"), max_digits=5, decimal_places=1)
    sub_scores = models.JSONField(_("分项得分"), default=dict, blank=True)
    rank = models.PositiveIntegerField(_("名次"), null=True, blank=True)
    remarks = models.TextField(_("评估意见"), blank=True)

    class Meta:
        verbose_name = _("第三方评估得分")
        verbose_name_plural = _("第三方评估得分")
        ordering = ["assessment", "-score", "unit_id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "unit"], name="one_score_per_unit_per_assessment"),
            models.CheckConstraint(condition=models.Q(score__gte=0) & models.Q(score__lte=100), name="score_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.score}"
