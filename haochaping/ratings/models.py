"""办件 (service instances), evaluation tokens, tag sets and the evaluation record (评价记录)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Hall, Organisation, Platform, Region, ServiceItem, Staff, Window
from haochaping.lib import protect
from haochaping.lib.ids import uuid7
from haochaping.ratings.codes import Adoption, CaseStatus, Channel, Grade, RaterKind, Stage, Target, is_bad


class ServiceCase(models.Model):
    """办件: one service instance registered by a business system; what a 一次一评/一事一评 rating is about."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id", "staff": "staff_id"}

    case_no = models.CharField(_("办件编号"), max_length=50, unique=True)
    service_item = models.ForeignKey(
        ServiceItem, verbose_name=_("事项"), on_delete=models.PROTECT, related_name="cases"
    )
    unit = models.ForeignKey(Organisation, verbose_name=_("办理单位"), on_delete=models.PROTECT, related_name="cases")
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="cases")
    hall = models.ForeignKey(Hall, verbose_name=_("大厅"), null=True, blank=True, on_delete=models.PROTECT)
    window = models.ForeignKey(Window, verbose_name=_("窗口"), null=True, blank=True, on_delete=models.PROTECT)
    staff = models.ForeignKey(Staff, verbose_name=_("经办人"), null=True, blank=True, on_delete=models.PROTECT)
    stage = models.CharField(_("当前环节"), max_length=10, choices=Stage.choices, default=Stage.ACCEPT)
    status = models.PositiveSmallIntegerField(_("办件状态"), choices=CaseStatus.choices, default=CaseStatus.ACCEPTED)
    online = models.BooleanField(_("网上办理"), default=False)
    applicant_kind = models.PositiveSmallIntegerField(_("申请人类型"), choices=RaterKind.choices)
    applicant_name_enc = models.TextField(_("申请人姓名（加密）"), blank=True, editable=False)
    applicant_phone_enc = models.TextField(_("申请人手机号（加密）"), blank=True, editable=False)
    applicant_phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    applicant_cert_enc = models.TextField(_("申请人证件号（加密）"), blank=True, editable=False)
    applicant_cert_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    registered_by = models.ForeignKey(
        "accounts.ApiKey", verbose_name=_("登记系统"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("办件")
        verbose_name_plural = _("办件")
        indexes = [models.Index(fields=["unit", "created_at"]), models.Index(fields=["region", "created_at"])]

    def __str__(self) -> str:
        return self.case_no

    @property
    def applicant_phone_masked(self) -> str:
        return protect.mask_phone(protect.decrypt(self.applicant_phone_enc))

    @property
    def applicant_cert_masked(self) -> str:
        return protect.mask_cert(protect.decrypt(self.applicant_cert_enc))


class EvaluationToken(models.Model):
    """A single-use, expiring token that lets the applicant rate one stage of one 办件 without logging in."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    service_case = models.ForeignKey(
        ServiceCase, verbose_name=_("办件"), on_delete=models.CASCADE, related_name="tokens"
    )
    stage = models.CharField(_("评价环节"), max_length=10, choices=Stage.choices)
    sequence = models.PositiveSmallIntegerField(_("评价次数"), default=1)
    created_at = models.DateTimeField(_("签发时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("失效时间"))
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("评价令牌")
        verbose_name_plural = _("评价令牌")

    def __str__(self) -> str:
        return f"{self.service_case.case_no} · {self.get_stage_display()}"


class TagSet(models.Model):
    """A versioned set of grade-dependent tags (评价标签), one for online and one for on-site service."""

    class Kind(models.TextChoices):
        ONLINE = "online", _("网上服务")
        ONSITE = "onsite", _("现场服务")

    code = models.CharField(_("标签集编码"), max_length=30)
    version = models.PositiveIntegerField(_("版本"))
    kind = models.CharField(_("适用服务"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=100)
    is_active = models.BooleanField(_("当前版本"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("评价标签集")
        verbose_name_plural = _("评价标签集")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="tagset_code_version_unique"),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(is_active=True), name="one_active_tagset_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Tag(models.Model):
    tag_set = models.ForeignKey(TagSet, verbose_name=_("标签集"), on_delete=models.CASCADE, related_name="tags")
    code = models.CharField(_("标签代码"), max_length=20)
    label = models.CharField(_("标签"), max_length=50)
    dimension = models.CharField(_("维度"), max_length=30, blank=True, help_text=_("如 办事效率、服务态度"))
    grades = models.JSONField(_("适用等级"), default=list, help_text=_("适用的评价等级，1=非常不满意 … 5=非常满意"))
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("评价标签")
        verbose_name_plural = _("评价标签")
        ordering = ["tag_set", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["tag_set", "code"], name="tag_code_unique_in_set")]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class DeviceKind(models.TextChoices):
    """The counter evaluator a rating was taken on (Rating.device_kind); "" for every other way of rating."""

    NONE = "", _("不经评价器")
    TABLET = "tablet", _("五级评价器/平板")
    BUTTONS3 = "buttons3", _("三键评价器")
    BUTTONS4 = "buttons4", _("四键评价器")


class Rating(models.Model):
    """评价记录: one rating of one target, through one channel. Never deleted; corrections are new events."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id", "staff": "staff_id"}

    # Indexes are few on purpose: each one is paid on every rating written (docs/performance.md). Foreign keys
    # carry no index of their own: look-ups by 办件 use the partial unique index, those by region, unit and
    # staff the composite (…, rated_at) indexes; reporting reads rollups, not this table.
    public_id = models.UUIDField(_("评价编号"), default=uuid7, unique=True, editable=False)
    target = models.CharField(_("评价对象"), max_length=10, choices=Target.choices, default=Target.CASE)
    service_case = models.ForeignKey(
        ServiceCase,
        verbose_name=_("办件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ratings",
        db_index=False,
    )
    stage = models.CharField(_("评价环节"), max_length=10, choices=Stage.choices, blank=True)
    sequence = models.PositiveSmallIntegerField(_("评价次数"), default=1, help_text=_("1 首次评价，2 追评"))
    grade = models.PositiveSmallIntegerField(_("满意度"), choices=Grade.choices)
    channel = models.CharField(_("评价渠道"), max_length=15, choices=Channel.choices)
    service_item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("事项"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ratings",
        db_index=False,
    )
    unit = models.ForeignKey(
        Organisation, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="ratings", db_index=False
    )
    region = models.ForeignKey(
        Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="ratings", db_index=False
    )
    hall = models.ForeignKey(
        Hall, verbose_name=_("大厅"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    window = models.ForeignKey(
        Window, verbose_name=_("窗口"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    staff = models.ForeignKey(
        Staff, verbose_name=_("被评价人员"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    platform = models.ForeignKey(
        Platform, verbose_name=_("平台"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    tag_set = models.ForeignKey(
        TagSet, verbose_name=_("标签集版本"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    tags = models.JSONField(_("评价标签"), default=list, blank=True)
    # The questionnaire version whose questions were answered (None when none was): answers keep their meaning.
    questionnaire = models.ForeignKey(
        "Questionnaire", verbose_name=_("分项评价问卷"), null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    answers = models.JSONField(_("分项评价"), default=dict, blank=True)
    comment = models.TextField(_("文字评价"), blank=True)
    is_default = models.BooleanField(_("默认评价"), default=False, help_text=_("超期未评由系统记录的默认评价"))
    is_anonymous = models.BooleanField(_("匿名"), default=True)
    is_public = models.BooleanField(_("同意公开"), default=False)
    rater_kind = models.PositiveSmallIntegerField(_("评价人类型"), choices=RaterKind.choices, default=RaterKind.PERSON)
    rater_name_enc = models.TextField(blank=True, editable=False)
    rater_phone_enc = models.TextField(blank=True, editable=False)
    rater_phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    rater_cert_enc = models.TextField(blank=True, editable=False)
    rater_cert_hash = models.CharField(max_length=64, blank=True, editable=False)
    adoption = models.CharField(_("采纳状态"), max_length=15, choices=Adoption.choices, default=Adoption.ADOPTED)
    rated_at = models.DateTimeField(_("评价时间"), db_index=True)
    received_at = models.DateTimeField(_("接收时间"))
    client = models.CharField(_("提交方"), max_length=40, help_text=_("接口密钥前缀或 token/page 等来源"))
    idempotency_key = models.CharField(_("幂等键"), max_length=100, null=True, blank=True)
    # Which kind of counter evaluator took the rating, so figures can be split by it (docs/legacy-evaluators.md): a
    # 3-button device cannot give 非常满意. Set by trusted internal callers only, never from the public API.
    device_kind = models.CharField(
        _("评价器类型"), max_length=12, choices=DeviceKind.choices, default=DeviceKind.NONE, blank=True
    )

    class Meta:
        verbose_name = _("评价记录")
        verbose_name_plural = _("评价记录")
        constraints = [
            models.UniqueConstraint(
                fields=["service_case", "stage", "sequence"],
                condition=models.Q(service_case__isnull=False),
                name="one_rating_per_case_stage_sequence",
            ),
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="rating_idempotency_key_unique",
            ),
            models.CheckConstraint(condition=models.Q(grade__gte=1, grade__lte=5), name="rating_grade_1_to_5"),
            models.CheckConstraint(condition=models.Q(sequence__in=[1, 2]), name="rating_sequence_1_or_2"),
        ]
        indexes = [
            models.Index(fields=["region", "rated_at"]),
            models.Index(fields=["unit", "rated_at"]),
            models.Index(fields=["staff", "rated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.get_grade_display()}"

    @property
    def is_bad(self) -> bool:
        return is_bad(self.grade)

    @property
    def rater_phone_masked(self) -> str:
        return protect.mask_phone(protect.decrypt(self.rater_phone_enc))


class RatingKey(models.Model):
    """The unique keys of each rating, kept where PostgreSQL can enforce them globally (docs/partitioning.md).

    A partitioned ratings_rating can only hold unique indexes that include rated_at, so on PostgreSQL its
    uniqueness rules (public_id; one rating per 办件·stage·sequence; one per client·idempotency key) are
    enforced here: a trigger on ratings_rating inserts each rating's keys, and intake claims a batch's keys
    first (``pending``) so that a row a concurrent writer beat is skipped rather than failing the batch. On
    SQLite, and on an unpartitioned table, this table stays empty and Rating's own constraints apply.
    """

    public_id = models.UUIDField(primary_key=True)
    service_case_id = models.BigIntegerField(null=True)  # no foreign key: a guard, not a relation
    stage = models.CharField(max_length=10, blank=True)
    sequence = models.SmallIntegerField()
    client = models.CharField(max_length=40)
    idempotency_key = models.CharField(max_length=100, null=True)
    # Claimed by intake, rating row not yet inserted (same transaction): the trigger consumes the claim.
    pending = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("评价唯一键")
        verbose_name_plural = _("评价唯一键")
        constraints = [
            models.UniqueConstraint(
                fields=["service_case_id", "stage", "sequence"],
                condition=models.Q(service_case_id__isnull=False),
                name="ratingkey_one_per_case_stage_seq",
            ),
            models.UniqueConstraint(
                fields=["client", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="ratingkey_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)


class RatingOffer(models.Model):
    """邀评记录: a moment a rating was offered (evaluator shown, QR scanned, SMS sent, widget shown).

    Analytics reports offered → rated from these rows, not only ratings (issue: invitation accounting).
    """

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id", "staff": "staff_id"}

    class Kind(models.TextChoices):
        EVALUATOR = "evaluator", _("评价器展示")
        QR_SCAN = "qr_scan", _("扫码打开")
        SMS = "sms", _("短信邀评")
        WIDGET = "widget", _("网上评价组件展示")
        LINK = "link", _("评价链接打开")

    kind = models.CharField(_("邀评方式"), max_length=12, choices=Kind.choices)
    channel = models.CharField(_("评价渠道"), max_length=15, choices=Channel.choices)
    service_case = models.ForeignKey(
        ServiceCase, verbose_name=_("办件"), null=True, blank=True, on_delete=models.PROTECT, related_name="offers"
    )
    stage = models.CharField(_("评价环节"), max_length=10, choices=Stage.choices, blank=True)
    unit = models.ForeignKey(Organisation, verbose_name=_("单位"), on_delete=models.PROTECT, db_index=False)
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, db_index=False)
    window = models.ForeignKey(Window, verbose_name=_("窗口"), null=True, blank=True, on_delete=models.PROTECT)
    staff = models.ForeignKey(Staff, verbose_name=_("工作人员"), null=True, blank=True, on_delete=models.PROTECT)
    source = models.CharField(_("来源"), max_length=60, blank=True, help_text=_("设备、二维码或短信批次的标识"))
    offered_at = models.DateTimeField(_("邀评时间"), db_index=True)

    class Meta:
        verbose_name = _("邀评记录")
        verbose_name_plural = _("邀评记录")
        indexes = [models.Index(fields=["region", "offered_at"]), models.Index(fields=["unit", "offered_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.offered_at:%Y-%m-%d %H:%M}"


class DefaultRatingPolicy(models.Model):
    """默认评价规则: where a region's policy says so, a completed 办件 unrated after N days gets a default rating.

    The policy of the nearest ancestor region that has one applies: a county without its own policy follows its
    city's or province's, and a county policy (enabled or not) overrides theirs. ``after_days`` counts calendar
    days from 办结 (docs/default-ratings.md).
    """

    SCOPE_LOOKUPS = {"region": "region__path"}

    region = models.OneToOneField(
        Region, verbose_name=_("行政区划"), on_delete=models.CASCADE, related_name="default_rating_policy"
    )
    enabled = models.BooleanField(
        _("启用默认评价"), default=True, help_text=_("停用时本区划及下级（无自有规则的）不记录默认评价")
    )
    after_days = models.PositiveSmallIntegerField(
        _("超期天数"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("办结后超过多少个自然日仍未评价，记录默认评价"),
    )
    grade = models.PositiveSmallIntegerField(_("默认等级"), choices=Grade.choices, default=Grade.BASIC)
    # Only the 办结 stage is swept: it is the stage whose end (completed_at) the delay counts from.
    stage = models.CharField(
        _("评价环节"), max_length=10, choices=[(Stage.COMPLETE.value, Stage.COMPLETE.label)], default=Stage.COMPLETE
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("默认评价规则")
        verbose_name_plural = _("默认评价规则")
        constraints = [
            models.CheckConstraint(condition=models.Q(after_days__gte=1), name="default_rating_after_days_positive"),
            models.CheckConstraint(condition=models.Q(grade__gte=1, grade__lte=5), name="default_rating_grade_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.region.name} · {self.after_days}天 · {self.get_grade_display()}"


class Questionnaire(models.Model):
    """A versioned detail questionnaire (分项评价, regime.md §2.5), asked after the grade; answering is voluntary.

    A new version is a new row: a rating keeps the version it was offered, so its answers keep their meaning.
    `questions` is a list of {"code", "text", "type": "choice"|"text"}; choice answers are yes/no/unsure.
    """

    Kind = TagSet.Kind

    code = models.CharField(_("问卷编码"), max_length=30)
    version = models.PositiveIntegerField(_("版本"))
    kind = models.CharField(_("适用服务"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=100)
    is_active = models.BooleanField(_("当前版本"), default=False, help_text=_("每类服务只有一个当前版本"))
    questions = models.JSONField(
        _("问题"), default=list, help_text=_('列表：{"code": "...", "text": "...", "type": "choice" 或 "text"}')
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("分项评价问卷")
        verbose_name_plural = _("分项评价问卷")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="questionnaire_code_version_unique"),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(is_active=True), name="one_active_questionnaire_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def clean(self) -> None:
        from haochaping.ratings.questionnaires import questions_error

        error = questions_error(self.questions)
        if error:
            raise ValidationError({"questions": error})


class QuestionnaireAssignment(models.Model):
    """Offers a questionnaire for one 事项 and/or channel; the most specific assignment wins."""

    questionnaire = models.ForeignKey(
        Questionnaire, verbose_name=_("问卷"), on_delete=models.CASCADE, related_name="assignments"
    )
    service_item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("事项"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("留空：所有事项"),
    )
    channel = models.CharField(
        _("评价渠道"), max_length=15, choices=Channel.choices, blank=True, help_text=_("留空：所有渠道")
    )

    class Meta:
        verbose_name = _("问卷适用范围")
        verbose_name_plural = _("问卷适用范围")
        constraints = [
            models.UniqueConstraint(fields=["service_item", "channel"], name="questionnaire_assignment_unique"),
            models.CheckConstraint(
                condition=models.Q(service_item__isnull=False) | ~models.Q(channel=""),
                name="questionnaire_assignment_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_item or _('所有事项')} · {self.get_channel_display() or _('所有渠道')}"
