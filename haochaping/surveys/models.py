"""服务调查: a survey (questionnaire), its invitations (one per sampled 办件, each with its own link) and responses.

The questionnaire is frozen once the survey opens: answers always refer to the questions as they were asked.
A response belongs to exactly one invitation (one response per invitation); the invitation knows the 办件, so
results split by unit and 事项 without asking the applicant who they are.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Organisation, Region, ServiceItem
from haochaping.ratings.models import ServiceCase


class Survey(models.Model):
    """调查问卷 and its campaign: who it is about (a region, optionally one unit or 事项) and when it runs."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        OPEN = "open", _("进行中")
        CLOSED = "closed", _("已结束")

    title = models.CharField(_("问卷标题"), max_length=100)
    intro = models.TextField(_("问卷说明"), blank=True, help_text=_("显示在问卷开头，如调查目的、所需时间"))
    region = models.ForeignKey(Region, verbose_name=_("调查区划"), on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        Organisation, verbose_name=_("限定单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    service_item = models.ForeignKey(
        ServiceItem, verbose_name=_("限定事项"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.DRAFT)
    closes_on = models.DateField(_("截止日期"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    opened_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("服务调查")
        verbose_name_plural = _("服务调查")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    SCOPE_LOOKUPS = {"region": "survey__region__path", "unit": "survey__unit_id"}

    class Kind(models.TextChoices):
        SINGLE = "single", _("单选")
        MULTIPLE = "multiple", _("多选")
        SCALE = "scale", _("量表打分")
        TEXT = "text", _("文字回答")

    survey = models.ForeignKey(Survey, verbose_name=_("问卷"), on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(_("序号"), default=0)
    kind = models.CharField(_("题型"), max_length=8, choices=Kind.choices)
    text = models.CharField(_("题目"), max_length=300)
    required = models.BooleanField(_("必答"), default=True)
    # Single/multiple choice: the options, in order ("[\"很方便\", \"比较方便\", …]"); answers store the index.
    options = models.JSONField(_("选项"), default=list, blank=True)
    # Scale: 1 … scale_max (5 or 10); the survey score is the mean of the scale answers mapped onto 0–100.
    scale_max = models.PositiveSmallIntegerField(
        _("量表最高分"), default=5, validators=[MinValueValidator(2), MaxValueValidator(10)]
    )

    class Meta:
        verbose_name = _("问卷题目")
        verbose_name_plural = _("问卷题目")
        ordering = ["survey", "order", "id"]

    def __str__(self) -> str:
        return self.text


class Invitation(models.Model):
    """邀请: one sampled 办件 asked to answer, by SMS, a link handed over, or a printed QR code. Its token (only the
    hash is kept) is the respondent's credential; unit, 事项 and region are copied from the 办件 at sampling."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class Channel(models.TextChoices):
        SMS = "sms", _("短信")
        LINK = "link", _("链接")
        QR = "qr", _("二维码")

    survey = models.ForeignKey(Survey, verbose_name=_("问卷"), on_delete=models.PROTECT, related_name="invitations")
    channel = models.CharField(_("发放方式"), max_length=4, choices=Channel.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    service_case = models.ForeignKey(
        ServiceCase, verbose_name=_("办件"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # fmt: skip
    region = models.ForeignKey(Region, verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        Organisation, verbose_name=_("办理单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    service_item = models.ForeignKey(
        ServiceItem, verbose_name=_("事项"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    sms = models.ForeignKey(
        "messaging.SmsMessage", verbose_name=_("短信"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("发放时间"), default=timezone.now)
    opened_at = models.DateTimeField(_("首次打开"), null=True, blank=True)
    responded_at = models.DateTimeField(_("回答时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("问卷邀请")
        verbose_name_plural = _("问卷邀请")
        ordering = ["survey", "id"]
        indexes = [models.Index(fields=["survey", "unit"]), models.Index(fields=["survey", "responded_at"])]
        constraints = [
            # A 办件 is sampled at most once per survey.
            models.UniqueConstraint(
                fields=["survey", "service_case"], condition=models.Q(service_case__isnull=False),
                name="one_invitation_per_case",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.survey_id}#{self.pk}"


class Response(models.Model):
    """答卷: the one response of an invitation."""

    SCOPE_LOOKUPS = {"region": "invitation__region__path", "unit": "invitation__unit_id"}

    invitation = models.OneToOneField(
        Invitation, verbose_name=_("邀请"), on_delete=models.PROTECT, related_name="response"
    )
    survey = models.ForeignKey(Survey, verbose_name=_("问卷"), on_delete=models.PROTECT, related_name="responses")
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    # Mean of the scale answers mapped onto 0–100 (None without a scale answer): the survey's figure per response.
    score = models.DecimalField(_("满意度得分"), max_digits=5, decimal_places=1, null=True, blank=True)

    class Meta:
        verbose_name = _("答卷")
        verbose_name_plural = _("答卷")
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.survey_id}/{self.invitation_id}"


class Answer(models.Model):
    SCOPE_LOOKUPS = {"region": "response__invitation__region__path", "unit": "response__invitation__unit_id"}

    response = models.ForeignKey(Response, verbose_name=_("答卷"), on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, verbose_name=_("题目"), on_delete=models.PROTECT, related_name="answers")
    choices = models.JSONField(_("所选选项"), default=list, blank=True)  # option indexes (single: one)
    scale = models.PositiveSmallIntegerField(_("打分"), null=True, blank=True)
    text = models.TextField(_("文字回答"), blank=True)  # masked (insight.text) before it is stored

    class Meta:
        verbose_name = _("答案")
        verbose_name_plural = _("答案")
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question")]

    def __str__(self) -> str:
        return f"{self.response_id}/{self.question_id}"
