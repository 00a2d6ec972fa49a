"""Models of the messaging app: every SMS sent or received (短信记录), invitations included."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.lib import protect
from haochaping.ratings.codes import Stage
from haochaping.ratings.models import EvaluationToken, Rating, ServiceCase


class SmsMessage(models.Model):
    """One SMS, outbound or inbound. An invitation (kind=invitation) is unique per 办件 and stage.

    The evaluation token of an invitation is kept as a foreign key only: the stored text has the token
    redacted, so database readers cannot rate in the applicant's place (docs/sms.md).
    """

    SCOPE_LOOKUPS = {
        "region": "service_case__region__path",
        "unit": "service_case__unit_id",
        "staff": "service_case__staff_id",
    }

    class Direction(models.TextChoices):
        OUT = "out", _("发送")
        IN = "in", _("接收")

    class Kind(models.TextChoices):
        INVITATION = "invitation", _("邀评短信")
        REPLY = "reply", _("回复短信")
        INBOUND = "inbound", _("用户上行")
        VERIFICATION = "verification", _("验证码短信")
        CASE_FEEDBACK = "feedback", _("差评处理结果反馈")
        SURVEY = "survey", _("服务调查邀请")

    class Status(models.TextChoices):
        QUEUED = "queued", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        RECEIVED = "received", _("已接收")
        RATED = "rated", _("已评价")
        UNPARSED = "unparsed", _("无法识别")
        UNMATCHED = "unmatched", _("无待评邀请")
        REFUSED = "refused", _("评价未受理")

    direction = models.CharField(_("方向"), max_length=3, choices=Direction.choices)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    phone_enc = models.TextField(_("手机号（加密）"), editable=False)
    phone_hash = models.CharField(max_length=64, editable=False)  # indexed with kind, created_at below
    text = models.TextField(_("内容"))
    service_case = models.ForeignKey(
        ServiceCase, verbose_name=_("办件"), null=True, blank=True, on_delete=models.PROTECT, related_name="sms"
    )
    stage = models.CharField(_("评价环节"), max_length=10, choices=Stage.choices, blank=True)
    token = models.ForeignKey(
        EvaluationToken, verbose_name=_("评价令牌"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invitation = models.ForeignKey(
        "self", verbose_name=_("对应邀评"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # No database constraint: see docs/partitioning.md (ratings are never deleted; SET_NULL holds in the ORM).
    rating = models.ForeignKey(
        Rating,
        verbose_name=_("评价记录"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    gateway_id = models.CharField(_("网关消息编号"), max_length=100, blank=True)
    inbound_key = models.CharField(
        _("上行幂等键"),
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text=_("网关重复推送同一上行只处理一次"),
    )
    error = models.TextField(_("错误"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("发送次数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), db_index=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    answered_at = models.DateTimeField(_("回复评价时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("短信")
        verbose_name_plural = _("短信")
        constraints = [
            models.UniqueConstraint(
                fields=["service_case", "stage"],
                condition=models.Q(kind="invitation"),
                name="one_sms_invitation_per_case_stage",
            )
        ]
        indexes = [models.Index(fields=["phone_hash", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.phone_masked} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def phone_masked(self) -> str:
        return protect.mask_phone(protect.decrypt(self.phone_enc))


class PhoneVerification(models.Model):
    """One SMS verification code (短信验证码) sent to a phone number for a purpose such as "qr-rating".

    Only a keyed hash of the code is stored (with the phone number and purpose in the hash), so neither the
    database nor the admin reveals a usable code; the phone itself is kept as a look-up hash only.
    """

    phone_hash = models.CharField(max_length=64, editable=False)
    purpose = models.CharField(_("用途"), max_length=20)
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("发送时间"))
    expires_at = models.DateTimeField(_("失效时间"))
    attempts = models.PositiveSmallIntegerField(_("校验次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("短信验证码")
        verbose_name_plural = _("短信验证码")
        indexes = [models.Index(fields=["phone_hash", "purpose", "created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"
