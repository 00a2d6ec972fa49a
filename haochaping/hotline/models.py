"""12345热线对接: the link per region, the work orders sent out, and what the hotline sent back.

The case here stays the system of record: a work order refers to it (OneToOne), the hotline's status updates are
kept here and as notes on the case, never changing its state. docs/hotline-12345.md describes the interface.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Region


class HotlineLink(models.Model):
    """热线对接配置: one per region; the nearest region up the hierarchy with an enabled link decides."""

    SCOPE_LOOKUPS = {"region": "region__path"}

    region = models.OneToOneField(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="+")
    enabled = models.BooleanField(_("启用"), default=False)
    endpoint = models.URLField(_("热线接口地址"), max_length=300, help_text=_("如 https://12345.example.gov.cn/api"))
    # The hotline's credential for our calls (Authorization: Bearer …), encrypted (lib.protect); never shown back.
    credential_enc = models.TextField(blank=True, editable=False)
    include_complaints = models.BooleanField(_("投诉也转派"), default=False, help_text=_("默认只转派差评工单"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("更新人"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("12345热线对接配置")
        verbose_name_plural = _("12345热线对接配置")
        ordering = ["region__code"]

    def __str__(self) -> str:
        return f"{self.region.name} → {self.endpoint}"

    @property
    def has_credential(self) -> bool:
        return bool(self.credential_enc)


class WorkOrder(models.Model):
    """12345工单: one per case sent out, written in the case's transaction, pushed by the worker."""

    SCOPE_LOOKUPS = {"region": "case__region__path", "unit": "case__unit_id"}

    class State(models.TextChoices):
        QUEUED = "queued", _("待发送")
        SENT = "sent", _("已发送待确认")
        ACCEPTED = "accepted", _("热线已接收")
        FAILED = "failed", _("被拒收")
        CANCELLED = "cancelled", _("已撤回")

    case = models.OneToOneField(
        "cases.Case", verbose_name=_("工单"), on_delete=models.PROTECT, related_name="hotline_order"
    )
    link = models.ForeignKey(HotlineLink, verbose_name=_("对接配置"), on_delete=models.PROTECT, related_name="orders")
    order_no = models.CharField(_("本平台工单编号"), max_length=40, unique=True)
    work_order_no = models.CharField(_("热线工单编号"), max_length=64, blank=True, db_index=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.QUEUED)
    cancel_pending = models.BooleanField(_("待发送撤回"), default=False)
    attempts = models.PositiveIntegerField(_("连续失败次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    created_at = models.DateTimeField(_("入队时间"))
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    remote_status = models.CharField(_("热线最新状态"), max_length=40, blank=True)
    remote_status_at = models.DateTimeField(_("热线状态时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("12345工单")
        verbose_name_plural = _("12345工单")
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="hotline_order_pending")]

    def __str__(self) -> str:
        return self.order_no

    @property
    def pending(self) -> bool:
        return self.state == self.State.QUEUED or self.cancel_pending


class StatusUpdate(models.Model):
    """热线状态回传: idempotent on (work order, status, at)."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("12345工单"), on_delete=models.PROTECT, related_name="updates"
    )
    status = models.CharField(_("状态"), max_length=40)
    note = models.TextField(_("说明"), blank=True)
    at = models.DateTimeField(_("热线时间"))
    received_at = models.DateTimeField(_("接收时间"))

    class Meta:
        verbose_name = _("热线状态回传")
        verbose_name_plural = _("热线状态回传")
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["work_order", "status", "at"], name="hotline_status_once"),
        ]

    def __str__(self) -> str:
        return f"{self.work_order_id}:{self.status}"


class Callback(models.Model):
    """热线回访结果: one per call (call_id), recorded as the case's feedback / a note, or as a hotline rating."""

    SCOPE_LOOKUPS = {"region": "region__path"}

    class Outcome(models.TextChoices):
        FEEDBACK = "feedback", _("记为工单评价")
        NOTE = "note", _("记入工单记录")
        RATING = "rating", _("存为热线评价")

    call_id = models.CharField(_("回访编号"), max_length=64, unique=True)
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="+")
    work_order = models.ForeignKey(
        WorkOrder,
        verbose_name=_("12345工单"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="callbacks",
    )
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("工单"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service_case_no = models.CharField(_("办件编号"), max_length=50, blank=True)
    rating_public_id = models.CharField(_("评价编号"), max_length=40, blank=True)
    called_at = models.DateTimeField(_("回访时间"))
    grade = models.PositiveSmallIntegerField(_("满意度"))
    comment = models.TextField(_("回访意见"), blank=True)
    outcome = models.CharField(_("处理"), max_length=10, choices=Outcome.choices)
    received_at = models.DateTimeField(_("接收时间"))

    class Meta:
        verbose_name = _("热线回访结果")
        verbose_name_plural = _("热线回访结果")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.call_id
