"""Comment mining (意见挖掘) tables: the analysis copy of every comment, its term counts, the concentrated problems
found in them, surge alerts, and the routing model with its labelled examples.

Nothing here holds personal data: texts are normalised and masked (insight/text.py) before they are stored, and
the ratings and cases they come from are referred to by id only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Hall, Organisation, Region, ServiceItem


class Source(models.TextChoices):
    RATING = "rating", _("评价文字")
    COMPLAINT = "complaint", _("投诉或意见建议")  # suggestions (意见箱) are indexed with the complaints


class CommentDoc(models.Model):
    """One comment as the analysis sees it: masked and normalised text, and its terms (space-separated, with a
    space before the first and after the last, so ``tokens LIKE '% 排队 %'`` finds a term). Written by
    insight/index.py, never by the intake path; a comment is indexed once (unique source, source_id)."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    source_id = models.BigIntegerField(_("来源编号"), help_text=_("评价记录或投诉工单的内部编号"))
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, db_index=False)
    unit = models.ForeignKey(Organisation, verbose_name=_("单位"), on_delete=models.PROTECT, db_index=False)
    service_item = models.ForeignKey(
        ServiceItem, verbose_name=_("事项"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    hall = models.ForeignKey(
        Hall, verbose_name=_("大厅"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    channel = models.CharField(_("渠道"), max_length=15)
    grade = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True, help_text=_("投诉为空"))
    is_bad = models.BooleanField(_("差评或投诉"))
    day = models.DateField(_("日期"), help_text=_("评价或投诉的日期（当地时间）"))
    text = models.TextField(_("文字（已脱敏）"))
    tokens = models.TextField(_("词语"))
    indexed_at = models.DateTimeField(_("索引时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("评价文字")
        verbose_name_plural = _("评价文字")
        constraints = [models.UniqueConstraint(fields=["source", "source_id"], name="comment_doc_once")]
        indexes = [models.Index(fields=["region", "day"]), models.Index(fields=["unit", "day"])]

    def __str__(self) -> str:
        return self.text[:40]


class TermMonth(models.Model):
    """How many comments of a unit in a month contain a term, apart for bad (差评/投诉) and other comments: the
    hot words' counts, kept by the indexer as comments arrive (never recomputed from scratch)."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, db_index=False)
    unit = models.ForeignKey(Organisation, verbose_name=_("单位"), on_delete=models.PROTECT, db_index=False)
    month = models.DateField(_("月份"))
    is_bad = models.BooleanField(_("差评或投诉"))
    term = models.CharField(_("词语"), max_length=32)
    docs = models.PositiveIntegerField(_("条数"), default=0)

    class Meta:
        verbose_name = _("词频（月）")
        verbose_name_plural = _("词频（月）")
        constraints = [
            models.UniqueConstraint(fields=["unit", "month", "is_bad", "term"], name="term_month_unique"),
        ]
        indexes = [models.Index(fields=["region", "month"])]

    def __str__(self) -> str:
        return f"{self.term} {self.month:%Y-%m} {self.docs}"


class IndexCursor(models.Model):
    """How far the indexer has read each source (the highest id indexed), so new comments are indexed without
    reading old ones again."""

    source = models.CharField(max_length=10, choices=Source.choices, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.source} > {self.last_id}"


class Problem(models.Model):
    """反映集中的问题: similar bad comments and complaints of one region in one period, grouped. A rerun of the
    detection updates the group it matches (by key words) and never undoes a supervisor's decision."""

    SCOPE_LOOKUPS = {"region": "region__path"}

    class Status(models.TextChoices):
        DETECTED = "detected", _("待研判")
        CONFIRMED = "confirmed", _("已确认")
        DISMISSED = "dismissed", _("已排除")
        RECTIFYING = "rectifying", _("已交办整改")

    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(_("期间开始"))
    period_end = models.DateField(_("期间结束"))
    label = models.CharField(_("问题"), max_length=60)
    keywords = models.JSONField(_("关键词"), default=list)
    size = models.PositiveIntegerField(_("反映条数"), default=0)
    units = models.JSONField(_("涉及单位"), default=list, help_text=_('[{"id", "name", "n"}]，按条数降序'))
    items = models.JSONField(_("涉及事项"), default=list, help_text=_('[{"id", "name", "n"}]，按条数降序'))
    trend = models.JSONField(_("走势"), default=list, help_text=_('[{"week": "YYYY-MM-DD", "n"}]'))
    examples = models.JSONField(_("典型意见"), default=list, help_text=_('[{"doc", "text"}]，已脱敏'))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DETECTED)
    note = models.TextField(_("研判意见"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("研判人"), null=True, blank=True, on_delete=models.PROTECT
    )
    decided_at = models.DateTimeField(_("研判时间"), null=True, blank=True)
    rectification = models.OneToOneField(
        "cases.Rectification",
        verbose_name=_("整改事项"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="problem",
    )
    detected_at = models.DateTimeField(_("发现时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("最近计算"), auto_now=True)

    class Meta:
        verbose_name = _("集中反映问题")
        verbose_name_plural = _("集中反映问题")
        ordering = ["-size", "id"]
        indexes = [models.Index(fields=["region", "period_end"])]

    def __str__(self) -> str:
        return self.label


class ProblemMember(models.Model):
    """A comment that belongs to a problem (rebuilt on each detection run)."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="members")
    doc = models.ForeignKey(CommentDoc, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["problem", "doc"], name="problem_member_once")]

    def __str__(self) -> str:
        return f"{self.problem_id}: {self.doc_id}"


class SurgeAlert(models.Model):
    """激增预警: a word or problem whose volume in the current window is significantly above its baseline
    (docs/insight.md states the test), raised to the management agency of the region."""

    SCOPE_LOOKUPS = {"region": "region__path"}

    class Subject(models.TextChoices):
        TERM = "term", _("热词")
        PROBLEM = "problem", _("集中问题")

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        ACKNOWLEDGED = "acknowledged", _("已知悉")

    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="+")
    subject_kind = models.CharField(_("对象类型"), max_length=10, choices=Subject.choices)
    subject = models.CharField(_("对象"), max_length=60)
    problem = models.ForeignKey(
        Problem, verbose_name=_("集中问题"), null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    window_start = models.DateField(_("本期开始"))
    window_end = models.DateField(_("本期结束"))
    observed = models.PositiveIntegerField(_("本期条数"))
    expected = models.FloatField(_("基线期望"))
    p_value = models.FloatField(_("显著性 p 值"))
    evidence = models.JSONField(_("依据"), default=dict)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(_("预警时间"), auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("处理人"), null=True, blank=True, on_delete=models.PROTECT
    )
    acknowledged_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    note = models.TextField(_("处理说明"), blank=True)

    class Meta:
        verbose_name = _("激增预警")
        verbose_name_plural = _("激增预警")
        ordering = ["-raised_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "subject_kind", "subject", "window_start"], name="surge_alert_once_per_window"
            )
        ]

    def __str__(self) -> str:
        return self.subject


class Router(models.Model):
    """A trained routing model: text → 部门类别 with a confidence (insight/routing.py). The one named
    ``default`` serves the suggestions; others come from `haochaping insight train --name`."""

    name = models.CharField(_("名称"), max_length=40, unique=True)
    labels = models.JSONField(_("类别"), default=list)
    examples = models.PositiveIntegerField(_("训练样本数"), default=0)
    heldout = models.PositiveIntegerField(_("留出样本数"), default=0)
    accuracy = models.FloatField(_("留出准确率"), null=True, blank=True)
    report = models.JSONField(_("评估"), default=dict, help_text=_("各类别的精确率、召回率等"))
    source = models.CharField(_("训练数据"), max_length=200, blank=True)
    model = models.BinaryField(_("模型"), editable=False)
    trained_at = models.DateTimeField(_("训练时间"), auto_now=True)

    class Meta:
        verbose_name = _("分派模型")
        verbose_name_plural = _("分派模型")

    def __str__(self) -> str:
        return self.name


class RoutingExample(models.Model):
    """A labelled text for the router: a handler's confirmation or correction of a suggestion, or an import."""

    class Origin(models.TextChoices):
        CONFIRMED = "confirmed", _("确认建议")
        CORRECTED = "corrected", _("更正建议")
        IMPORTED = "imported", _("导入")

    text = models.TextField(_("文字（已脱敏）"))
    label = models.CharField(_("部门类别"), max_length=30)
    origin = models.CharField(_("来源"), max_length=10, choices=Origin.choices)
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("工单"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("标注人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("分派样本")
        verbose_name_plural = _("分派样本")

    def __str__(self) -> str:
        return f"{self.label}: {self.text[:30]}"


class RoutingSuggestion(models.Model):
    """The router's suggestion for one complaint without a clear unit, and the handler's decision on it."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("待确认")
        CONFIRMED = "confirmed", _("已确认")
        CORRECTED = "corrected", _("已更正")

    case = models.OneToOneField(
        "cases.Case", verbose_name=_("工单"), on_delete=models.CASCADE, related_name="routing_suggestion"
    )
    label = models.CharField(_("建议类别"), max_length=30)
    confidence = models.FloatField(_("置信度"))
    alternatives = models.JSONField(_("其他候选"), default=list, help_text=_('[{"label", "p"}]'))
    suggested_unit = models.ForeignKey(
        Organisation, verbose_name=_("建议单位"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    router = models.ForeignKey(Router, verbose_name=_("模型"), null=True, on_delete=models.SET_NULL)
    decision = models.CharField(_("处理"), max_length=10, choices=Decision.choices, default=Decision.PENDING)
    final_label = models.CharField(_("确认类别"), max_length=30, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("确认人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("建议时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("分派建议")
        verbose_name_plural = _("分派建议")

    def __str__(self) -> str:
        return f"{self.label} ({self.confidence:.0%})"
