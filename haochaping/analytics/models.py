"""Rollups (汇总表) of ratings: counts per grade, kept exact as ratings arrive or change (analytics/rollups.py).

Each cube is one table: the dimensions are plain integer/text columns (0 or "" where a rating has none, so that
the unique key is a real key: NULLs never collide), the measures are counts per grade (1 = 非常不满意 …
5 = 非常满意) in three groups:

- ``act_g``: active ratings (主动评价) that count — adopted or still under appeal;
- ``def_g``: default ratings (默认评价) that count;
- ``out_g``: ratings set aside (不予采纳) after an approved appeal, default or not — kept so that reports can say
  how many there were.

Dashboards read these tables, never a scan of the ratings; ``haochaping rollups verify`` recomputes every cube
from the ratings and reports each difference.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

GRADES = (1, 2, 3, 4, 5)
GROUPS = ("act", "def", "out")
MEASURES = tuple(f"{group}_{g}" for group in GROUPS for g in GRADES)
# The dimensions (unique key) of each cube.
UNIT_DAY = ("day", "region_id", "unit_id", "channel", "rater_kind")
UNIT_MONTH = ("month", "region_id", "unit_id")
CHANNEL_MONTH = ("month", "region_id", "channel", "rater_kind")
STAFF_MONTH = ("month", "region_id", "unit_id", "hall_id", "window_id", "staff_id")
ITEM_MONTH = ("month", "region_id", "unit_id", "service_item_id")


class Cube(models.Model):
    # Signed on purpose: an upsert's proposed row carries the delta (−1 when a rating is set aside), and SQLite
    # checks a CHECK (>= 0) on that row before it resolves the conflict. ``verify`` catches any negative count.
    act_1 = models.IntegerField(default=0)
    act_2 = models.IntegerField(default=0)
    act_3 = models.IntegerField(default=0)
    act_4 = models.IntegerField(default=0)
    act_5 = models.IntegerField(default=0)
    def_1 = models.IntegerField(default=0)
    def_2 = models.IntegerField(default=0)
    def_3 = models.IntegerField(default=0)
    def_4 = models.IntegerField(default=0)
    def_5 = models.IntegerField(default=0)
    out_1 = models.IntegerField(default=0)
    out_2 = models.IntegerField(default=0)
    out_3 = models.IntegerField(default=0)
    out_4 = models.IntegerField(default=0)
    out_5 = models.IntegerField(default=0)

    DIMENSIONS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return " · ".join(str(getattr(self, d)) for d in self.DIMENSIONS)


class UnitDay(Cube):
    """Per day × region × unit × channel × rater kind: trends, channel mix, region and unit figures."""

    day = models.DateField(_("日期"))
    region_id = models.IntegerField()
    unit_id = models.IntegerField()
    channel = models.CharField(max_length=15)
    rater_kind = models.PositiveSmallIntegerField()

    DIMENSIONS = UNIT_DAY

    class Meta:
        verbose_name = _("评价日汇总（单位）")
        verbose_name_plural = _("评价日汇总（单位）")
        constraints = [models.UniqueConstraint(fields=UNIT_DAY, name="rollup_unit_day_key")]
        indexes = [models.Index(fields=["unit_id", "day"])]


class UnitMonth(Cube):
    """Per month × region × unit: totals, months, regions and units over long periods — the narrowest cube, so
    the province's year is a scan of a few thousand rows."""

    month = models.DateField(_("月份"), help_text=_("当月1日"))
    region_id = models.IntegerField()
    unit_id = models.IntegerField()

    DIMENSIONS = UNIT_MONTH

    class Meta:
        verbose_name = _("评价月汇总（单位）")
        verbose_name_plural = _("评价月汇总（单位）")
        constraints = [models.UniqueConstraint(fields=UNIT_MONTH, name="rollup_unit_month_key")]
        indexes = [models.Index(fields=["unit_id", "month"])]


class ChannelMonth(Cube):
    """Per month × region × channel × rater kind: a region's channel mix and rater kinds over long periods. No unit:
    a unit's channel mix comes from UnitDay (a unit has few rows there), and without it the province's year is a
    scan of a few thousand rows."""

    month = models.DateField(_("月份"), help_text=_("当月1日"))
    region_id = models.IntegerField()
    channel = models.CharField(max_length=15)
    rater_kind = models.PositiveSmallIntegerField()

    DIMENSIONS = CHANNEL_MONTH

    class Meta:
        verbose_name = _("评价月汇总（渠道）")
        verbose_name_plural = _("评价月汇总（渠道）")
        constraints = [models.UniqueConstraint(fields=CHANNEL_MONTH, name="rollup_channel_month_key")]


class StaffMonth(Cube):
    """Per month × unit × hall × window × staff member: hall, window and staff figures and rankings."""

    month = models.DateField(_("月份"), help_text=_("当月1日"))
    region_id = models.IntegerField()
    unit_id = models.IntegerField()
    hall_id = models.IntegerField()
    window_id = models.IntegerField()
    staff_id = models.IntegerField()

    DIMENSIONS = STAFF_MONTH

    class Meta:
        verbose_name = _("评价月汇总（窗口人员）")
        verbose_name_plural = _("评价月汇总（窗口人员）")
        constraints = [models.UniqueConstraint(fields=STAFF_MONTH, name="rollup_staff_month_key")]
        indexes = [
            models.Index(fields=["unit_id", "month"]),
            models.Index(fields=["staff_id", "month"]),
            models.Index(fields=["month", "region_id"]),
        ]


class ItemMonth(Cube):
    """Per month × region × unit × 事项: service-item figures (a cube of its own: carried in StaffMonth it
    multiplied that cube's rows by the 事项 each staff member handles, and the province's staff ranking slowed)."""

    month = models.DateField(_("月份"), help_text=_("当月1日"))
    region_id = models.IntegerField()
    unit_id = models.IntegerField()
    service_item_id = models.IntegerField()

    DIMENSIONS = ITEM_MONTH

    class Meta:
        verbose_name = _("评价月汇总（事项）")
        verbose_name_plural = _("评价月汇总（事项）")
        constraints = [models.UniqueConstraint(fields=ITEM_MONTH, name="rollup_item_month_key")]
        indexes = [models.Index(fields=["unit_id", "month"])]


CUBES: tuple[type[Cube], ...] = (UnitDay, UnitMonth, ChannelMonth, StaffMonth, ItemMonth)


# --- uptake (评价率, 邀评转化率): 办件 completed and rated, offers made (analytics/uptake.py keeps them) -----------
# Each by day and by month: a period of whole months (the usual question) reads the small month table.

COMPLETION_DAY = ("day", "region_id", "unit_id")
COMPLETION_MONTH = ("month", "region_id", "unit_id")
OFFER_DAY = ("day", "region_id", "unit_id", "channel")
OFFER_MONTH = ("month", "region_id", "channel")


class CompletionCounts(models.Model):
    """办件 completed (办结) in the period × region × unit, and how many of them are rated.

    ``rated`` counts 办件 with a rating given by the rater (any stage, adopted or not); ``rated_any`` also those
    with only a default rating. A rating arriving after completion updates the period the 办件 was completed in.
    """

    region_id = models.IntegerField()
    unit_id = models.IntegerField()
    completed = models.IntegerField(_("办结办件"), default=0)
    rated = models.IntegerField(_("已主动评价办件"), default=0)
    rated_any = models.IntegerField(_("已评价办件（含默认评价）"), default=0)

    MEASURES = ("completed", "rated", "rated_any")
    DIMENSIONS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return " · ".join(str(getattr(self, d)) for d in self.DIMENSIONS)


class CompletionDay(CompletionCounts):
    day = models.DateField(_("办结日期"))

    DIMENSIONS = COMPLETION_DAY

    class Meta:
        verbose_name = _("办件办结日汇总")
        verbose_name_plural = _("办件办结日汇总")
        constraints = [models.UniqueConstraint(fields=COMPLETION_DAY, name="rollup_completion_day_key")]
        indexes = [models.Index(fields=["unit_id", "day"])]


class CompletionMonth(CompletionCounts):
    month = models.DateField(_("月份"))

    DIMENSIONS = COMPLETION_MONTH

    class Meta:
        verbose_name = _("办件办结月汇总")
        verbose_name_plural = _("办件办结月汇总")
        constraints = [models.UniqueConstraint(fields=COMPLETION_MONTH, name="rollup_completion_month_key")]
        indexes = [models.Index(fields=["unit_id", "month"])]


class OfferCounts(models.Model):
    """Offers to rate made (evaluator shown, QR scanned, SMS sent …) in the period × region (× unit) × channel."""

    region_id = models.IntegerField()
    channel = models.CharField(max_length=15)
    offers = models.IntegerField(_("邀评次数"), default=0)

    MEASURES = ("offers",)
    DIMENSIONS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return " · ".join(str(getattr(self, d)) for d in self.DIMENSIONS)


class OfferDay(OfferCounts):
    day = models.DateField(_("日期"))
    unit_id = models.IntegerField()

    DIMENSIONS = OFFER_DAY

    class Meta:
        verbose_name = _("邀评日汇总")
        verbose_name_plural = _("邀评日汇总")
        constraints = [models.UniqueConstraint(fields=OFFER_DAY, name="rollup_offer_day_key")]
        indexes = [models.Index(fields=["unit_id", "day"])]


class OfferMonth(OfferCounts):
    """Without the unit, like ChannelMonth: a region's whole months by channel read a few thousand rows; a unit's
    questions read OfferDay, where the unit filter keeps them small."""

    month = models.DateField(_("月份"))

    DIMENSIONS = OFFER_MONTH

    class Meta:
        verbose_name = _("邀评月汇总")
        verbose_name_plural = _("邀评月汇总")
        constraints = [models.UniqueConstraint(fields=OFFER_MONTH, name="rollup_offer_month_key")]


UPTAKE_CUBES: tuple[type[models.Model], ...] = (CompletionDay, CompletionMonth, OfferDay, OfferMonth)


# --- periodic reports (定期报告; analytics/reports.py builds the files) --------------------------------------


def report_path(instance: Report, filename: str) -> str:
    # Private (MEDIA_ROOT is never served): a random part so that no path is guessable, and a new file name per
    # generation, so a published report's files are never overwritten by a later version.
    import secrets

    return f"reports/{instance.kind}/{instance.period_start:%Y-%m}/{secrets.token_hex(8)}-{filename}"


class Report(models.Model):
    """A monthly, quarterly or annual report of a region or a unit, as Excel and PDF files.

    Lifecycle: draft (草稿) → submitted (已报送) → published (已发布); submitted → draft (退回) too. A draft is
    replaced in place when regenerated; a published report is immutable (its files and their SHA-256 are fixed):
    regenerating it makes the next ``version``.
    """

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("月报")
        QUARTERLY = "quarterly", _("季报")
        ANNUAL = "annual", _("年报")

    class ScopeKind(models.TextChoices):
        REGION = "region", _("区划")
        UNIT = "unit", _("单位")

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已报送")
        PUBLISHED = "published", _("已发布")

    kind = models.CharField(_("报告类型"), max_length=10, choices=Kind.choices)
    scope_kind = models.CharField(_("范围"), max_length=10, choices=ScopeKind.choices)
    # Always set (for a unit report: the unit's region), so that region scopes find unit reports too.
    region = models.ForeignKey(
        "directory.Region", verbose_name=_("行政区划"), on_delete=models.PROTECT, null=True, related_name="reports"
    )
    unit = models.ForeignKey(
        "directory.Organisation",
        verbose_name=_("单位"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    period_start = models.DateField(_("期间开始"))
    period_end = models.DateField(_("期间结束"))
    version = models.PositiveIntegerField(_("版本"), default=1)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.DRAFT)
    xlsx = models.FileField(_("Excel 文件"), upload_to=report_path, max_length=200, blank=True)
    pdf = models.FileField(_("PDF 文件"), upload_to=report_path, max_length=200, blank=True)
    xlsx_sha256 = models.CharField(_("Excel SHA-256"), max_length=64, blank=True)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)
    summary = models.TextField(_("主要变化"), blank=True)
    build_seconds = models.FloatField(_("生成耗时（秒）"), default=0)
    generated_by = models.CharField(_("生成方式"), max_length=150, help_text=_("schedule、command 或用户名"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("生成人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("生成时间"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("报送人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    submitted_at = models.DateTimeField(_("报送时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发布人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("定期报告")
        verbose_name_plural = _("定期报告")
        ordering = ["-period_start", "kind", "region__code", "unit_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "region", "period_start", "version"],
                condition=models.Q(unit__isnull=True),
                name="report_region_version",
            ),
            models.UniqueConstraint(
                fields=["kind", "unit", "period_start", "version"],
                condition=models.Q(unit__isnull=False),
                name="report_unit_version",
            ),
        ]
        indexes = [models.Index(fields=["kind", "period_start"])]

    def __str__(self) -> str:
        who = self.unit.name if self.unit_id else (self.region.name if self.region_id else "")
        return f"{who} {self.get_kind_display()} {self.period_label} v{self.version}"

    @property
    def period_label(self) -> str:
        if self.kind == self.Kind.MONTHLY:
            return f"{self.period_start:%Y-%m}"
        if self.kind == self.Kind.QUARTERLY:
            return f"{self.period_start.year}-Q{(self.period_start.month - 1) // 3 + 1}"
        return f"{self.period_start.year}"


class PerformanceWeights(models.Model):
    """绩效考核权重: how a region's performance sheet weighs the evaluation sources into one composite score.

    Each source gives a unit a 0–100 figure for the period (ratings: 满意度指数; inspections: mean inspection score;
    surveys: mean response score; third-party assessment: the firm's score). The composite is the weighted mean over
    the sources the unit has figures for, so a unit nobody inspected is not scored zero for it. The nearest region
    up the hierarchy with a row decides; without one, the defaults below (analytics/sources.py) apply.
    """

    SCOPE_LOOKUPS = {"region": "region__path"}

    region = models.OneToOneField(
        "directory.Region", verbose_name=_("区划"), on_delete=models.PROTECT, related_name="performance_weights"
    )
    ratings = models.PositiveSmallIntegerField(_("好差评权重"), default=60)
    inspections = models.PositiveSmallIntegerField(_("监督查评权重"), default=20)
    surveys = models.PositiveSmallIntegerField(_("服务调查权重"), default=10)
    assessments = models.PositiveSmallIntegerField(_("第三方评估权重"), default=10)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("修改人"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("绩效考核权重")
        verbose_name_plural = _("绩效考核权重")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ratings__lte=100, inspections__lte=100, surveys__lte=100, assessments__lte=100),
                name="weights_at_most_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.region_id}: {self.ratings}/{self.inspections}/{self.surveys}/{self.assessments}"
