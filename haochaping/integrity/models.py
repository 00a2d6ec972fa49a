"""Integrity signals (数据真实性监测): what a rule found, with its evidence, and the supervisor's review of it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Organisation, Region, Staff


class Rule(models.TextChoices):
    BRUSHING = "brushing", _("集中刷好评")
    COERCED = "coerced", _("代评（推送后秒评）")
    SELF_RATING = "self_rating", _("自评自办件")
    DEFAULT_SHARE = "default_share", _("默认评价占比异常")
    PERFECT = "perfect", _("好评率完美得不真实")
    CAMPAIGN = "campaign", _("集中恶意差评")
    TEXT_GRADE = "text_grade", _("文字与等级矛盾")


class Signal(models.Model):
    """One finding of one rule about one subject in one period. Reruns update it (same fingerprint), never
    duplicate it, and never touch its review: a supervisor's outcome stays once recorded."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class Status(models.TextChoices):
        OPEN = "open", _("待核查")
        DISMISSED = "dismissed", _("已排除")
        CONFIRMED = "confirmed", _("已确认")

    class Severity(models.TextChoices):
        MEDIUM = "medium", _("中")
        HIGH = "high", _("高")

    rule = models.CharField(_("规则"), max_length=20, choices=Rule.choices)
    subject_kind = models.CharField(_("对象类型"), max_length=20, help_text=_("device/qr/staff/unit/phone"))
    subject_id = models.CharField(_("对象标识"), max_length=80)
    subject_label = models.CharField(_("对象"), max_length=200)
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        Organisation, verbose_name=_("单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateTimeField(_("期间开始"))
    period_end = models.DateTimeField(_("期间结束"))
    score = models.FloatField(_("强度"), help_text=_("观测值与阈值之比，≥1 即触发"))
    severity = models.CharField(_("级别"), max_length=10, choices=Severity.choices)
    summary = models.CharField(_("摘要"), max_length=300)
    evidence = models.JSONField(_("证据"), default=dict)
    fingerprint = models.CharField(max_length=64, unique=True, editable=False)
    detected_at = models.DateTimeField(_("发现时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("最近计算"), auto_now=True)
    status = models.CharField(_("核查结果"), max_length=10, choices=Status.choices, default=Status.OPEN)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("核查人"), null=True, blank=True, on_delete=models.PROTECT
    )
    reviewed_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    review_note = models.TextField(_("核查说明"), blank=True)

    class Meta:
        verbose_name = _("真实性信号")
        verbose_name_plural = _("真实性信号")
        ordering = ["-period_start", "-score", "id"]
        indexes = [models.Index(fields=["rule", "status"]), models.Index(fields=["region", "period_start"])]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} · {self.subject_label}"


class SignalReview(models.Model):
    """Each review of a signal, append-only: the signal shows the latest, this keeps every one."""

    signal = models.ForeignKey(Signal, verbose_name=_("信号"), on_delete=models.PROTECT, related_name="reviews")
    status = models.CharField(_("核查结果"), max_length=10, choices=Signal.Status.choices)
    note = models.TextField(_("核查说明"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("核查人"), on_delete=models.PROTECT)
    reviewed_at = models.DateTimeField(_("核查时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("信号核查记录")
        verbose_name_plural = _("信号核查记录")
        ordering = ["signal_id", "id"]

    def __str__(self) -> str:
        return f"{self.signal_id}: {self.get_status_display()}"


class StaffIdentity(models.Model):
    """Keyed hashes (lib/protect.lookup_hash) of a staff member's certificate and phone numbers, for the self-rating
    rule only. The directory keeps no identity number for staff; an administrator registers it here (never in
    clear text)."""

    SCOPE_LOOKUPS = {"region": "staff__unit__region__path", "unit": "staff__unit_id", "staff": "staff_id"}

    staff = models.OneToOneField(Staff, verbose_name=_("工作人员"), on_delete=models.CASCADE, related_name="+")
    cert_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("工作人员身份摘要")
        verbose_name_plural = _("工作人员身份摘要")

    def __str__(self) -> str:
        return str(self.staff)
