"""监督查评: what inspectors check (checklists), when and where (plans), and what they found (inspections).

An inspection scores every item of its checklist; an item scored below its threshold fails and, on submission,
opens a 整改事项 (cases.Rectification) for the responsible unit. A submitted inspection is never changed.
"""

from __future__ import annotations

import secrets
from pathlib import PurePath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Hall, Organisation, Region, Window


class Mode(models.TextChoices):
    ANNOUNCED = "announced", _("明查")
    UNANNOUNCED = "unannounced", _("暗访")
    MYSTERY = "mystery", _("神秘访客")


class Checklist(models.Model):
    """检查表: the items an inspection scores, kept by a region's management agency (used in its region)."""

    SCOPE_LOOKUPS = {"region": "region__path"}

    name = models.CharField(_("检查表名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    region = models.ForeignKey(Region, verbose_name=_("适用区划"), on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("检查表")
        verbose_name_plural = _("检查表")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ChecklistItem(models.Model):
    """One item of a checklist: what is checked, how it is scored (0 … max_score) and below what it fails."""

    checklist = models.ForeignKey(Checklist, verbose_name=_("检查表"), on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField(_("序号"), default=0)
    category = models.CharField(_("类别"), max_length=40, blank=True, help_text=_("如 窗口礼仪、一次性告知"))
    text = models.CharField(_("检查内容"), max_length=300)
    guidance = models.TextField(_("评分标准"), blank=True)
    max_score = models.PositiveSmallIntegerField(
        _("满分"), default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    pass_score = models.PositiveSmallIntegerField(
        _("合格分"), default=6, help_text=_("得分低于合格分即为不合格，提交后自动生成整改事项")
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("检查项")
        verbose_name_plural = _("检查项")
        ordering = ["checklist", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(pass_score__lte=models.F("max_score")), name="pass_le_max")
        ]

    def __str__(self) -> str:
        return self.text


class Plan(models.Model):
    """检查计划: which halls (and optionally windows) are inspected, in which period, how, and by whom."""

    SCOPE_LOOKUPS = {"region": "region__path"}

    name = models.CharField(_("计划名称"), max_length=100)
    region = models.ForeignKey(Region, verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+")
    checklist = models.ForeignKey(Checklist, verbose_name=_("检查表"), on_delete=models.PROTECT, related_name="plans")
    mode = models.CharField(_("检查方式"), max_length=12, choices=Mode.choices, default=Mode.UNANNOUNCED)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    halls = models.ManyToManyField(Hall, verbose_name=_("检查大厅"), related_name="+")
    windows = models.ManyToManyField(Window, verbose_name=_("指定窗口"), blank=True, related_name="+")
    inspectors = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("检查人员"), related_name="+")
    visits = models.PositiveSmallIntegerField(_("计划检查次数"), default=1, help_text=_("每个大厅的检查次数"))
    notes = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("检查计划")
        verbose_name_plural = _("检查计划")
        ordering = ["-starts_on", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="plan_period_order")
        ]

    def __str__(self) -> str:
        return self.name


class Inspection(models.Model):
    """One visit: a hall (and a window) inspected against a checklist by one inspector."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class State(models.TextChoices):
        DRAFT = "draft", _("检查中")
        SUBMITTED = "submitted", _("已提交")

    plan = models.ForeignKey(
        Plan, verbose_name=_("检查计划"), null=True, blank=True, on_delete=models.PROTECT, related_name="inspections"
    )
    checklist = models.ForeignKey(Checklist, verbose_name=_("检查表"), on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(_("检查方式"), max_length=12, choices=Mode.choices)
    region = models.ForeignKey(Region, verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+")
    hall = models.ForeignKey(Hall, verbose_name=_("大厅"), on_delete=models.PROTECT, related_name="+")
    window = models.ForeignKey(
        Window, verbose_name=_("窗口"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The unit answerable for the findings: the window's unit, else the hall's managing unit.
    unit = models.ForeignKey(Organisation, verbose_name=_("被检查单位"), on_delete=models.PROTECT, related_name="+")
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("检查人员"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.DRAFT)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    # 0–100: points scored over points possible, written on submission.
    score = models.DecimalField(_("得分（百分制）"), max_digits=5, decimal_places=1, null=True, blank=True)
    failed_items = models.PositiveSmallIntegerField(_("不合格项"), default=0)
    summary = models.TextField(_("检查情况"), blank=True)

    class Meta:
        verbose_name = _("检查记录")
        verbose_name_plural = _("检查记录")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["unit", "submitted_at"]), models.Index(fields=["state", "submitted_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """检查编号: JC + date of the visit + id."""
        return f"JC{timezone.localtime(self.started_at):%Y%m%d}-{self.pk:05d}"


class ItemScore(models.Model):
    """The score one inspection gave one checklist item; a failed item points at the 整改事项 it opened."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("检查记录"), on_delete=models.CASCADE, related_name="scores"
    )
    item = models.ForeignKey(ChecklistItem, verbose_name=_("检查项"), on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(_("得分"))
    passed = models.BooleanField(_("合格"))
    note = models.TextField(_("检查发现"), blank=True)
    rectification = models.OneToOneField(
        "cases.Rectification", verbose_name=_("整改事项"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="inspection_finding",
    )  # fmt: skip

    class Meta:
        verbose_name = _("检查项得分")
        verbose_name_plural = _("检查项得分")
        ordering = ["inspection", "item__order", "item_id"]
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="one_score_per_item")]

    def __str__(self) -> str:
        return f"{self.item} {self.score}"


def photo_path(instance: Photo, filename: str) -> str:
    # A random name: the file name may carry personal data and must not be guessable.
    return f"inspection-photos/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{PurePath(filename).suffix.lower()}"


class Photo(models.Model):
    """现场照片: a photo taken during an inspection, of the whole visit or of one item. Served scoped."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("检查记录"), on_delete=models.CASCADE, related_name="photos"
    )
    item = models.ForeignKey(
        ChecklistItem, verbose_name=_("检查项"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("文件"), upload_to=photo_path, max_length=200)
    name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("现场照片")
        verbose_name_plural = _("现场照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name
