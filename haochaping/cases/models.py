"""Cases (差评/投诉工单), their append-only history, call-backs, appeals, evidence and the deadline policy.

A case is opened for every 差评 and every 投诉. Its state moves only through the transition table in
``cases/machine.py``; every move, note, call-back and attachment is recorded as a ``CaseEvent`` that is never
changed or deleted. "Closed" (state) and "fixed" (outcome) are separate fields on purpose (regime.md §4).
"""

from __future__ import annotations

import secrets
from pathlib import PurePath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from haochaping.directory.models import Hall, Organisation, Region, ServiceItem, Staff, Window
from haochaping.lib import protect
from haochaping.ratings.codes import Channel, Grade
from haochaping.ratings.models import Rating, ServiceCase


class Kind(models.TextChoices):
    BAD_REVIEW = "bad_review", _("差评")
    COMPLAINT = "complaint", _("投诉")
    SUGGESTION = "suggestion", _("意见建议")  # 意见箱: routed like a complaint, contact details optional


class State(models.TextChoices):
    NEW = "new", _("待分派")
    ASSIGNED = "assigned", _("待回访核实")
    VERIFIED = "verified", _("已核实待处理")
    RECTIFYING = "rectifying", _("限期整改中")
    APPEALING = "appealing", _("申诉复核中")
    FEEDBACK = "feedback", _("已反馈待评价")
    CLOSED = "closed", pgettext_lazy("ticket state", "已办结")


# 工单编号 prefix of each kind (cases/selectors.py and cases/api.py read numbers back through it).
NUMBER_PREFIXES = {Kind.BAD_REVIEW: "CP", Kind.COMPLAINT: "TS", Kind.SUGGESTION: "JY"}
KIND_OF_PREFIX = {prefix: kind for kind, prefix in NUMBER_PREFIXES.items()}

OPEN_STATES = frozenset({State.NEW, State.ASSIGNED, State.VERIFIED, State.RECTIFYING, State.APPEALING})


class Outcome(models.TextChoices):
    FIXED_NOW = "fixed_now", _("立行立改")
    LEDGER = "ledger", _("限期整改")
    EXPLAINED = "explained", _("解释说明")
    NOT_ADOPTED = "not_adopted", _("误评/恶意差评不予采纳")


class FeedbackGrade(models.IntegerChoices):
    """The rater's rating of the handling (对整改结果的评价)."""

    SATISFIED = 3, _("满意")
    BASIC = 2, _("基本满意")
    DISSATISFIED = 1, _("不满意")


class NotifiedVia(models.TextChoices):
    SMS = "sms", _("短信")
    PHONE = "phone", _("电话")
    PUBLIC = "public", _("公示（无联系方式）")


class CloseReason(models.TextChoices):
    RATED = "rated", _("评价人已评价处理结果")
    NO_RESPONSE = "no_response", _("反馈期满未评价")
    FINAL = "final", _("重办后仍不满意，按程序办结")


class Case(models.Model):
    """差评/投诉工单: one per 差评 (OneToOne with the rating) or per 投诉."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id", "staff": "staff_id"}

    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    # Foreign keys carry no index of their own: the queues and the board read through the composite
    # (unit|region|handler, state) indexes below, and each index is paid on every 差评 written (intake).
    # No database constraint: a partitioned ratings_rating has no unique index on id alone (docs/partitioning.md);
    # ratings are never deleted, and PROTECT still holds in the ORM.
    rating = models.OneToOneField(
        Rating,
        verbose_name=_("差评记录"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case",
        db_constraint=False,
    )
    service_case = models.ForeignKey(
        ServiceCase,
        verbose_name=_("办件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    service_item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("事项"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # The unit responsible now (谁办理、谁负责); changes only by a transfer, which is recorded.
    unit = models.ForeignKey(
        Organisation,
        verbose_name=_("责任单位"),
        on_delete=models.PROTECT,
        related_name="bad_review_cases",
        db_index=False,
    )
    region = models.ForeignKey(
        Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    hall = models.ForeignKey(
        Hall, verbose_name=_("大厅"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    window = models.ForeignKey(
        Window, verbose_name=_("窗口"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    staff = models.ForeignKey(
        Staff,
        verbose_name=_("被评价人员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    channel = models.CharField(_("来源渠道"), max_length=15, choices=Channel.choices)
    grade = models.PositiveSmallIntegerField(_("满意度"), choices=Grade.choices, null=True, blank=True)
    summary = models.TextField(_("差评内容/投诉事由"), blank=True)
    real_name = models.BooleanField(_("实名"), default=False, help_text=_("留有联系方式，可回访"))
    contact_name_enc = models.TextField(blank=True, editable=False)
    contact_phone_enc = models.TextField(blank=True, editable=False)
    contact_phone_hash = models.CharField(max_length=64, blank=True, editable=False)

    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.NEW)
    outcome = models.CharField(_("处理方式"), max_length=12, choices=Outcome.choices, blank=True)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
        db_index=False,
    )
    opened_at = models.DateTimeField(_("立案时间"), default=timezone.now)
    # The date the current step must be done by (working days, cases/workdays.py); None while nothing is due.
    due_on = models.DateField(_("当前时限"), null=True, blank=True)
    callback_due = models.DateField(_("回访时限"))
    resolve_due = models.DateField(_("办理时限"), help_text=_("未进入台账时，作出处理结果的时限"))
    called_back_at = models.DateTimeField(_("首次回访接通时间"), null=True, blank=True)
    facts = models.TextField(_("核实情况"), blank=True)
    verified_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    measures = models.TextField(_("整改措施"), blank=True)
    explanation = models.TextField(_("解释说明"), blank=True)
    rectify_deadline = models.DateField(_("整改期限"), null=True, blank=True)
    extended_deadline = models.DateField(_("延期后期限"), null=True, blank=True)
    extension_reason = models.TextField(_("延期理由"), blank=True)
    rectified_at = models.DateTimeField(_("整改完成时间"), null=True, blank=True)
    paused_at = models.DateTimeField(_("暂停计时时间"), null=True, blank=True)
    outcome_at = models.DateTimeField(_("处理结果时间"), null=True, blank=True)
    notified_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    notified_via = models.CharField(_("反馈方式"), max_length=10, choices=NotifiedVia.choices, blank=True)
    feedback_due = models.DateField(_("评价反馈期限"), null=True, blank=True)
    feedback_grade = models.PositiveSmallIntegerField(
        _("对处理结果的评价"), choices=FeedbackGrade.choices, null=True, blank=True
    )
    feedback_comment = models.TextField(_("评价意见"), blank=True)
    feedback_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    feedback_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    escalation_level = models.PositiveSmallIntegerField(
        _("督办层级"), default=0, help_text=_("0 未督办，1 已提醒单位负责人，2 已上报管理机构")
    )
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    close_reason = models.CharField(_("办结原因"), max_length=12, choices=CloseReason.choices, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("差评/投诉工单")
        verbose_name_plural = _("差评/投诉工单")
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["unit", "state"]),
            models.Index(fields=["region", "state"]),
            models.Index(fields=["handler", "state"]),
            models.Index(fields=["state", "due_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="bad_review") | models.Q(rating__isnull=False), name="bad_review_has_rating"
            ),
            # Closed is never without an outcome and a feedback to the rater.
            models.CheckConstraint(
                condition=~models.Q(state="closed") | (~models.Q(outcome="") & models.Q(notified_at__isnull=False)),
                name="closed_case_has_outcome_and_feedback",
            ),
            models.CheckConstraint(condition=models.Q(reopen_count__lte=1), name="case_reopened_at_most_once"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """工单编号: CP (差评) / TS (投诉) / JY (意见建议) + opening date + id, e.g. CP20261126-000123."""
        prefix = NUMBER_PREFIXES.get(self.kind, "TS")
        return f"{prefix}{timezone.localtime(self.opened_at):%Y%m%d}-{self.pk:06d}"

    @property
    def is_fixed(self) -> bool:
        """Fixed (已整改) is an outcome, not a state: 立行立改, or a ledger entry completed."""
        return self.outcome == Outcome.FIXED_NOW or (self.outcome == Outcome.LEDGER and self.rectified_at is not None)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def deadline(self):
        """The rectification deadline in force (after the one extension, if any)."""
        return self.extended_deadline or self.rectify_deadline

    @property
    def contact_phone_masked(self) -> str:
        return protect.mask_phone(protect.decrypt(self.contact_phone_enc))

    @property
    def contact_name(self) -> str:
        return protect.decrypt(self.contact_name_enc)


class CaseEvent(models.Model):
    """One entry of a case's history: a transition, note, call-back, reminder or escalation. Append-only."""

    case = models.ForeignKey(Case, verbose_name=_("工单"), on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("动作"), max_length=20)
    from_state = models.CharField(_("原状态"), max_length=12, choices=State.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=12, choices=State.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
    )
    actor_label = models.CharField(_("操作方"), max_length=60, help_text=_("系统、评价人或操作人姓名"))
    at = models.DateTimeField(_("时间"), default=timezone.now)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("字段"), default=dict, blank=True)

    class Meta:
        verbose_name = _("工单记录")
        verbose_name_plural = _("工单记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("工单记录只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("工单记录只能追加，不能删除")


class CallbackAttempt(models.Model):
    """回访记录: one attempt to reach the rater, whether it got through and what they said."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("电话")
        SMS = "sms", _("短信")
        VISIT = "visit", _("上门/当面")
        OTHER = "other", _("其他")

    case = models.ForeignKey(Case, verbose_name=_("工单"), on_delete=models.PROTECT, related_name="callbacks")
    at = models.DateTimeField(_("回访时间"))
    channel = models.CharField(_("回访方式"), max_length=10, choices=Channel.choices)
    reached = models.BooleanField(_("是否联系上"))
    rater_said = models.TextField(_("评价人反映"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("记录人"), on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(_("记录时间"), default=timezone.now)

    class Meta:
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.at:%Y-%m-%d %H:%M}"


class Appeal(models.Model):
    """申诉: the handler's application to set a rating aside as 误评/恶意差评, decided by the same-level agency."""

    class Ground(models.TextChoices):
        MISTAKEN = "mistaken", _("误评")
        MALICIOUS = "malicious", _("恶意差评")

    class Decision(models.TextChoices):
        PENDING = "", _("待复核")
        APPROVED = "approved", _("同意不予采纳")
        REJECTED = "rejected", _("驳回")

    case = models.ForeignKey(Case, verbose_name=_("工单"), on_delete=models.PROTECT, related_name="appeals")
    ground = models.CharField(_("申诉类型"), max_length=10, choices=Ground.choices)
    reason = models.TextField(_("申诉理由"))
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    decision = models.CharField(_("复核结果"), max_length=10, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("复核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    decision_note = models.TextField(_("复核意见"), blank=True)

    class Meta:
        verbose_name = _("申诉复核")
        verbose_name_plural = _("申诉复核")
        ordering = ["-applied_at"]

    def __str__(self) -> str:
        return f"{self.get_ground_display()} {self.get_decision_display()}"


def evidence_path(instance: CaseAttachment, filename: str) -> str:
    # A random name: the uploader's file name may carry personal data and must not be guessable.
    return f"case-evidence/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{PurePath(filename).suffix.lower()}"


class CaseAttachment(models.Model):
    """证明材料: a photo or PDF attached to a case event (evidence of a fix, of an appeal …). Served scoped."""

    case = models.ForeignKey(Case, verbose_name=_("工单"), on_delete=models.PROTECT, related_name="attachments")
    event = models.ForeignKey(
        CaseEvent, verbose_name=_("所属记录"), on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.FileField(_("文件"), upload_to=evidence_path, max_length=200)
    name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=60)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """站内提醒: assignment, due-soon reminder, escalation, appeal to review … for one user."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("分派")
        TRANSFERRED = "transferred", _("转办")
        DUE_SOON = "due_soon", _("即将到期")
        OVERDUE = "overdue", _("已超期，提醒单位负责人")
        ESCALATED = "escalated", _("超期上报管理机构")
        APPEAL = "appeal", _("申诉待复核")
        APPEAL_DECIDED = "appeal_decided", _("申诉复核结果")
        NOT_ADOPTED = "not_adopted", _("差评不予采纳")
        REOPENED = "reopened", _("评价人不满意，重新办理")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="case_notifications"
    )
    case = models.ForeignKey(Case, verbose_name=_("工单"), on_delete=models.PROTECT, related_name="notifications")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    text = models.CharField(_("内容"), max_length=300)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("工单提醒")
        verbose_name_plural = _("工单提醒")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.text


class CasePolicy(models.Model):
    """处理时限规则 of a region, inherited by sub-regions without their own (like the default-rating policy).

    Every figure counts working days on the statutory calendar (cases/workdays.py).
    """

    SCOPE_LOOKUPS = {"region": "region__path"}

    region = models.OneToOneField(
        Region, verbose_name=_("行政区划"), on_delete=models.CASCADE, related_name="case_policy"
    )
    callback_days = models.PositiveSmallIntegerField(
        _("回访时限（工作日）"), default=1, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    rectify_days = models.PositiveSmallIntegerField(
        _("整改时限（工作日）"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("立案后作出处理结果的时限，也是台账整改期限的上限"),
    )
    extension_days = models.PositiveSmallIntegerField(
        _("延期上限（工作日）"), default=5, validators=[MinValueValidator(0), MaxValueValidator(90)]
    )
    appeal_review_days = models.PositiveSmallIntegerField(
        _("申诉复核时限（工作日）"), default=5, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    feedback_days = models.PositiveSmallIntegerField(
        _("评价反馈期（工作日）"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("反馈处理结果后，评价人在此期限内未评价即办结"),
    )
    due_soon_days = models.PositiveSmallIntegerField(
        _("临期提醒（工作日）"), default=1, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    escalate_after_days = models.PositiveSmallIntegerField(
        _("超期多少工作日上报管理机构"), default=2, validators=[MinValueValidator(0), MaxValueValidator(30)]
    )
    pause_for_rater = models.BooleanField(
        _("等待评价人时暂停计时"), default=True, help_text=_("如约定上门时间、等待补充材料")
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("差评处理时限规则")
        verbose_name_plural = _("差评处理时限规则")

    def __str__(self) -> str:
        return f"{self.region} · {self.callback_days}/{self.rectify_days}"


class CalendarDay(models.Model):
    """法定节假日调整: a day whose working status overrides the calendar package (or fills a year it lacks)."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"), help_text=_("勾选为上班（含调休补班），不勾选为放假"))
    name = models.CharField(_("说明"), max_length=40, blank=True, help_text=_("如 春节、国庆节调休上班"))

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '放假'} {self.name}"


# --- the closed loop's figures by day of opening (cases/rollup.py keeps them; the dashboard reads them) --------

CASE_COUNTS = (
    "opened", "open", "closed", "fixed", "explained", "not_adopted", "in_ledger", "satisfied", "basic",
    "dissatisfied", "no_response", "callback_possible", "called_back", "real_name_adopted", "real_name_done",
    "ledger_done", "ledger_on_time", "adopted_bad", "fixed_bad", "reopened", "reached_feedback",
)  # fmt: skip


class CaseCounts(models.Model):
    """The counts of cases/metrics.py that do not move with the calendar, per opening period × region × unit.

    ``overdue`` and the passed-deadline part of ``ledger_due`` change as days pass with no write: they are counted
    live from the few open cases. ``closed_us`` is the sum of opened → closed durations (microseconds).
    """

    region_id = models.IntegerField()
    unit_id = models.IntegerField()
    opened = models.IntegerField(default=0)
    open = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    fixed = models.IntegerField(default=0)
    explained = models.IntegerField(default=0)
    not_adopted = models.IntegerField(default=0)
    in_ledger = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basic = models.IntegerField(default=0)
    dissatisfied = models.IntegerField(default=0)
    no_response = models.IntegerField(default=0)
    callback_possible = models.IntegerField(default=0)
    called_back = models.IntegerField(default=0)
    real_name_adopted = models.IntegerField(default=0)
    real_name_done = models.IntegerField(default=0)
    ledger_done = models.IntegerField(default=0)
    ledger_on_time = models.IntegerField(default=0)
    adopted_bad = models.IntegerField(default=0)
    fixed_bad = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    reached_feedback = models.IntegerField(default=0)
    closed_us = models.BigIntegerField(default=0)

    MEASURES = (*CASE_COUNTS, "closed_us")
    DIMENSIONS: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return " · ".join(str(getattr(self, d)) for d in self.DIMENSIONS)


class CaseDay(CaseCounts):
    day = models.DateField(_("立案日期"))

    DIMENSIONS = ("day", "region_id", "unit_id")

    class Meta:
        verbose_name = _("工单立案日汇总")
        verbose_name_plural = _("工单立案日汇总")
        constraints = [models.UniqueConstraint(fields=["day", "region_id", "unit_id"], name="case_day_key")]
        indexes = [models.Index(fields=["unit_id", "day"])]


class CaseMonth(CaseCounts):
    month = models.DateField(_("月份"))

    DIMENSIONS = ("month", "region_id", "unit_id")

    class Meta:
        verbose_name = _("工单立案月汇总")
        verbose_name_plural = _("工单立案月汇总")
        constraints = [models.UniqueConstraint(fields=["month", "region_id", "unit_id"], name="case_month_key")]
        indexes = [models.Index(fields=["unit_id", "month"])]


class CaseDayDirty(models.Model):
    """A CaseDay key whose cases changed since it was last computed (written in the change's transaction)."""

    day = models.DateField()
    region_id = models.IntegerField()
    unit_id = models.IntegerField()

    DIMENSIONS = ("day", "region_id", "unit_id")
    MEASURES = ()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "region_id", "unit_id"], name="case_day_dirty_key")]

    def __str__(self) -> str:
        return " · ".join(str(getattr(self, d)) for d in self.DIMENSIONS)


class Rectification(models.Model):
    """整改事项: a problem many raters reported (反映集中的问题, insight) turned into a rectification with an owner
    unit, a responsible person and a deadline (限期依法依规整改解决). Tracked here like the ledger's cases: the sweep
    marks it overdue, the board lists it, completion needs the measures taken."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class State(models.TextChoices):
        OPEN = "open", _("整改中")
        DONE = "done", _("已完成整改")
        CANCELLED = "cancelled", _("已撤销")

    title = models.CharField(_("整改事项"), max_length=120)
    description = models.TextField(_("问题描述"), blank=True)
    source = models.CharField(_("来源"), max_length=40, blank=True, help_text=_("如 集中问题 #12"))
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        Organisation, verbose_name=_("责任单位"), on_delete=models.PROTECT, related_name="rectifications"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("责任人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_rectifications",
    )
    deadline = models.DateField(_("整改期限"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.OPEN)
    progress = models.TextField(_("整改进展"), blank=True)
    measures = models.TextField(_("整改措施"), blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    overdue_notified_at = models.DateTimeField(_("超期提醒时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("交办人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("交办时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("整改事项")
        verbose_name_plural = _("整改事项")
        ordering = ["deadline", "id"]
        indexes = [models.Index(fields=["unit", "state"]), models.Index(fields=["region", "state"])]

    def __str__(self) -> str:
        return self.title
