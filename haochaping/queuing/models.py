"""Models of the queuing app (排队叫号对接): queue tickets, their append-only event log, and the ratings they joined.

A ticket is what a hall's queue-calling system prints (serial "A023", unique per hall per business day). The
system reports it called to a window and finished (with a 办件 or without); "finished" pushes the window's evaluator
prompt. Ratings are never touched: the ticket row and QueueTicketRating join a rating to the ticket and, through the
ticket's service_case (known at "finished" or attached later), to the 办件.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Hall, Window
from haochaping.evaluator.models import EvaluatorPrompt
from haochaping.ratings.models import ServiceCase


class QueueTicket(models.Model):
    """One printed queue ticket of a hall on one business day."""

    # Readers: the hall's region; a unit's staff see the tickets called to its windows (or of the hall it manages).
    SCOPE_LOOKUPS = {"region": "hall__region__path", "unit": "window__unit_id"}

    class State(models.TextChoices):
        ISSUED = "issued", _("已取号")
        CALLED = "called", _("已叫号")
        FINISHED = "finished", _("已办结")
        NO_SHOW = "no_show", _("过号")
        CANCELLED = "cancelled", _("已取消")

    class Outcome(models.TextChoices):
        NONE = "", _("未结束")
        CASE = "case", _("已办件")
        NO_CASE = "no_case", _("未办件")
        NO_SHOW = "no_show", _("过号")
        CANCELLED = "cancelled", _("已取消")

    public_id = models.UUIDField(_("票号编号"), default=uuid.uuid4, unique=True, editable=False)
    hall = models.ForeignKey(Hall, verbose_name=_("大厅"), on_delete=models.PROTECT, related_name="+")
    serial = models.CharField(_("票号"), max_length=20)
    business_day = models.DateField(_("营业日"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.ISSUED)
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices, default="", blank=True)
    issued_at = models.DateTimeField(_("取号时间"))
    window = models.ForeignKey(
        Window, verbose_name=_("叫号窗口"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    called_at = models.DateTimeField(_("叫号时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    service_case = models.ForeignKey(
        ServiceCase, verbose_name=_("办件"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    prompt = models.ForeignKey(
        EvaluatorPrompt,
        verbose_name=_("评价器推送"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Only a keyed hash of the ticket's QR token: the token is returned once, to print on the ticket.
    qr_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=60, help_text=_("queue:<密钥前缀>"))
    api_key = models.ForeignKey(
        "accounts.ApiKey", verbose_name=_("叫号系统密钥"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("排队票号")
        verbose_name_plural = _("排队票号")
        ordering = ["hall_id", "business_day", "issued_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "business_day", "serial"], name="queue_ticket_serial_per_day")
        ]
        indexes = [models.Index(fields=["business_day", "hall"], name="queue_ticket_day_hall")]

    def __str__(self) -> str:
        return f"{self.hall_id}/{self.business_day}/{self.serial}"


class QueueTicketEvent(models.Model):
    """Append-only history of a ticket: every accepted event as the queue system sent it."""

    ticket = models.ForeignKey(QueueTicket, verbose_name=_("票号"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("事件"), max_length=20)
    at = models.DateTimeField(_("事件时间"))
    data = models.JSONField(_("内容"), default=dict, blank=True)
    source = models.CharField(_("来源"), max_length=60)
    recorded_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("票号事件")
        verbose_name_plural = _("票号事件")
        ordering = ["ticket_id", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.kind}"


class QueueTicketRating(models.Model):
    """A rating joined to a ticket (by the evaluator prompt it answered, or through the ticket's QR page)."""

    class Via(models.TextChoices):
        EVALUATOR = "evaluator", _("窗口评价器")
        TICKET_QR = "ticket_qr", _("票号二维码")

    ticket = models.ForeignKey(QueueTicket, verbose_name=_("票号"), on_delete=models.CASCADE, related_name="ratings")
    rating_public_id = models.UUIDField(_("评价编号"), unique=True)
    via = models.CharField(_("评价途径"), max_length=12, choices=Via.choices)
    linked_at = models.DateTimeField(_("关联时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("票号评价")
        verbose_name_plural = _("票号评价")
        ordering = ["ticket_id", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} ↔ {self.rating_public_id}"
