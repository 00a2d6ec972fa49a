"""Exchange records: the outbox of what is still to be pushed upward, the delivery log, the registered
subordinate platforms and what they pushed, and the files taken from the file drop."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from haochaping.directory.models import Region


class OutboxEntry(models.Model):
    """待上报: one row per record to push upward, written in the transaction that makes the record.

    A delivered row is deleted (its batch stays in `Delivery`), so the table holds only the backlog and the
    push reads it in id order with an index. A row the superior refused stays, marked failed, for the operator.
    """

    class Kind(models.TextChoices):
        RATING = "rating", _("评价")
        ADOPTION = "adoption", _("采纳状态")
        CASE = "case", _("工单结果")

    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    # A rating's public_id (rating, adoption) or a case's id (case): a reference, so the push sends the
    # record as it is when it leaves, and a rating changed twice before a push goes up once with both states.
    ref = models.CharField(_("记录"), max_length=40)
    created_at = models.DateTimeField(_("入队时间"))
    failed_at = models.DateTimeField(_("拒收时间"), null=True, blank=True)
    error = models.TextField(_("拒收原因"), blank=True)

    class Meta:
        verbose_name = _("待上报记录")
        verbose_name_plural = _("待上报记录")
        indexes = [models.Index(fields=["failed_at", "id"], name="exchange_outbox_pending")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"


class Delivery(models.Model):
    """上报批次: one POST of a batch to the superior platform, successful or not."""

    class Status(models.TextChoices):
        OK = "ok", _("成功")
        PARTIAL = "partial", _("部分拒收")
        FAILED = "failed", _("失败")

    batch_id = models.UUIDField(_("批次编号"))
    started_at = models.DateTimeField(_("开始时间"))
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"), default=0)
    records = models.PositiveIntegerField(_("记录数"), default=0)
    accepted = models.PositiveIntegerField(pgettext_lazy("exchange count", "接收"), default=0)
    duplicates = models.PositiveIntegerField(_("重复（已接收）"), default=0)
    rejected = models.PositiveIntegerField(_("拒收"), default=0)
    status = models.CharField(_("结果"), max_length=10, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField(_("HTTP 状态"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("上报批次")
        verbose_name_plural = _("上报批次")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.status}"


class UpstreamState(models.Model):
    """The push's state (one row): consecutive failures and when to try again (exponential backoff)."""

    failures = models.PositiveIntegerField(_("连续失败次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("最近成功"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    paused = models.BooleanField(_("已暂停"), default=False)

    class Meta:
        verbose_name = _("上报状态")
        verbose_name_plural = _("上报状态")

    def __str__(self) -> str:
        return f"failures={self.failures}"


class Subordinate(models.Model):
    """下级平台: an installation allowed to push to this one, with its own API key and region."""

    SCOPE_LOOKUPS = {"region": "region__path"}

    code = models.CharField(_("平台编码"), max_length=40, unique=True)
    name = models.CharField(_("平台名称"), max_length=200)
    region = models.ForeignKey(Region, verbose_name=_("所辖区划"), on_delete=models.PROTECT, related_name="+")
    api_key = models.OneToOneField(
        "accounts.ApiKey", verbose_name=_("接口密钥"), on_delete=models.PROTECT, related_name="subordinate"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    last_push_at = models.DateTimeField(_("最近上报"), null=True, blank=True)
    received = models.PositiveBigIntegerField(_("累计接收"), default=0)
    duplicates = models.PositiveBigIntegerField(_("累计重复"), default=0)
    rejected = models.PositiveBigIntegerField(_("累计拒收"), default=0)

    class Meta:
        verbose_name = _("下级平台")
        verbose_name_plural = _("下级平台")
        ordering = ["region__code", "code"]

    def __str__(self) -> str:
        return self.name


class ReceivedBatch(models.Model):
    """接收批次: one push from a subordinate, as answered."""

    SCOPE_LOOKUPS = {"region": "subordinate__region__path"}

    subordinate = models.ForeignKey(Subordinate, verbose_name=_("下级平台"), on_delete=models.CASCADE)
    batch_id = models.UUIDField(_("批次编号"))
    received_at = models.DateTimeField(_("接收时间"))
    records = models.PositiveIntegerField(_("记录数"))
    accepted = models.PositiveIntegerField(pgettext_lazy("exchange count", "接收"))
    duplicates = models.PositiveIntegerField(_("重复"))
    rejected = models.PositiveIntegerField(_("拒收"))
    errors = models.JSONField(_("拒收明细"), default=list, blank=True)

    class Meta:
        verbose_name = _("接收批次")
        verbose_name_plural = _("接收批次")
        ordering = ["-id"]
        indexes = [models.Index(fields=["subordinate", "received_at"])]

    def __str__(self) -> str:
        return f"{self.batch_id}"


class CaseOutcome(models.Model):
    """下级工单结果: the outcome of a 差评/投诉 case handled at a subordinate (the case itself stays there).

    Keyed by the origin platform and its case number; a later state of the same case replaces the earlier.
    """

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    origin = models.CharField(_("来源平台"), max_length=40)
    case_no = models.CharField(_("工单编号"), max_length=40)
    subordinate = models.ForeignKey(Subordinate, verbose_name=_("上报平台"), on_delete=models.PROTECT)
    kind = models.CharField(_("类型"), max_length=12)
    rating_public_id = models.UUIDField(_("差评编号"), null=True, blank=True)
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        "directory.Organisation", verbose_name=_("办理单位"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=12)
    outcome = models.CharField(_("处理方式"), max_length=12, blank=True)
    opened_at = models.DateTimeField(_("立案时间"))
    outcome_at = models.DateTimeField(_("处理结果时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    resolve_due = models.DateField(_("办理时限"), null=True, blank=True)
    on_time = models.BooleanField(_("按期"), null=True)
    called_back = models.BooleanField(_("已回访"), default=False)
    feedback_grade = models.PositiveSmallIntegerField(_("整改评价"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("下级工单结果")
        verbose_name_plural = _("下级工单结果")
        constraints = [models.UniqueConstraint(fields=["origin", "case_no"], name="case_outcome_origin_case_no")]

    def __str__(self) -> str:
        return f"{self.origin}:{self.case_no}"


class DropFile(models.Model):
    """文件投递: a file a business system dropped for import, and what became of it."""

    SCOPE_LOOKUPS = {"region": "api_key__region__path", "unit": "api_key__unit_id"}

    class State(models.TextChoices):
        PROCESSING = "processing", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    api_key = models.ForeignKey("accounts.ApiKey", verbose_name=_("接口密钥"), on_delete=models.PROTECT)
    name = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    fmt = models.CharField(_("格式"), max_length=30)
    size = models.PositiveBigIntegerField(_("大小（字节）"), default=0)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.PROCESSING)
    received_at = models.DateTimeField(_("接收时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("行数"), default=0)
    stored = models.PositiveIntegerField(_("新存储"), default=0)
    duplicates = models.PositiveIntegerField(_("重复"), default=0)
    rejected = models.PositiveIntegerField(_("拒收"), default=0)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("投递文件")
        verbose_name_plural = _("投递文件")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["api_key", "sha256"], name="drop_file_once_per_key")]

    def __str__(self) -> str:
        return self.name
