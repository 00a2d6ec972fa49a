"""Models of the evaluator app: paired counter tablets, their one-time pairing codes, and pushed prompts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Staff, Window
from haochaping.ratings.models import ServiceCase

WINDOW_SCOPE = {"region": "window__hall__region__path", "unit": "window__unit_id"}


class PairingCode(models.Model):
    """A short one-time code an administrator creates for a window; a tablet enters it to become its evaluator."""

    SCOPE_LOOKUPS = WINDOW_SCOPE

    window = models.ForeignKey(Window, verbose_name=_("窗口"), on_delete=models.CASCADE, related_name="+")
    # Only a keyed hash is stored: the code is shown once, to the administrator who created it.
    code_hash = models.CharField(max_length=64, db_index=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("失效时间"))
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)
    device = models.ForeignKey(
        "EvaluatorDevice", verbose_name=_("配对设备"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("配对码")
        verbose_name_plural = _("配对码")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.window} @ {self.created_at:%Y-%m-%d %H:%M}"


class EvaluatorDevice(models.Model):
    """A tablet paired with one window; it authenticates with a long random credential (only its hash here)."""

    SCOPE_LOOKUPS = WINDOW_SCOPE

    window = models.ForeignKey(Window, verbose_name=_("窗口"), on_delete=models.PROTECT, related_name="evaluators")
    name = models.CharField(_("设备名称"), max_length=60)
    credential_hash = models.CharField(max_length=64, unique=True, editable=False)
    paired_at = models.DateTimeField(_("配对时间"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("最近在线"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("评价器设备")
        verbose_name_plural = _("评价器设备")
        ordering = ["window_id", "id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.window}）"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class EvaluatorPrompt(models.Model):
    """One "please rate" push to a window's evaluator: a 办件, or none for a walk-in rating of the window."""

    SCOPE_LOOKUPS = WINDOW_SCOPE

    window = models.ForeignKey(Window, verbose_name=_("窗口"), on_delete=models.CASCADE, related_name="+")
    service_case = models.ForeignKey(
        ServiceCase, verbose_name=_("办件"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    staff = models.ForeignKey(
        Staff, verbose_name=_("经办人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(_("推送来源"), max_length=60, help_text=_("api:<密钥编号> 或 clerk:<用户编号>"))
    created_at = models.DateTimeField(_("推送时间"), auto_now_add=True)
    device = models.ForeignKey(
        EvaluatorDevice, verbose_name=_("展示设备"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shown_at = models.DateTimeField(_("展示时间"), null=True, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    expired_at = models.DateTimeField(_("失效时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("评价推送")
        verbose_name_plural = _("评价推送")
        ordering = ["-id"]
        # The device's poll asks for the window's newest open prompt.
        indexes = [models.Index(fields=["window", "-id"], name="evaluator_prompt_window")]

    def __str__(self) -> str:
        return f"{self.window}: {self.service_case or _('现场评价')}"

    @property
    def state(self) -> str:
        if self.rated_at:
            return "rated"
        if self.expired_at:
            return "expired"
        if self.shown_at:
            return "shown"
        return "pushed"


# --- legacy button evaluators (按键评价器): 3- and 4-button devices mapped onto the five grades ---------------------


class LegacyDeviceModel(models.Model):
    """评价器型号: a kind of button evaluator and the documented mapping of its buttons onto the five grades.

    ``mapping`` is a list of ``{"button": 1..N, "label": "满意", "grade": 1..5}``, one entry per button; each change
    bumps ``version``, and every press stores the version and the entry it was mapped with (docs/legacy-evaluators.md).
    A model of a region is maintained by that region's agency; one without a region by the system administrators.
    """

    code = models.SlugField(_("型号编码"), max_length=40, unique=True)
    name = models.CharField(_("型号名称"), max_length=80)
    vendor = models.CharField(_("厂商"), max_length=80, blank=True)
    buttons = models.PositiveSmallIntegerField(_("按键数"), choices=[(3, _("三键")), (4, _("四键"))])
    mapping = models.JSONField(_("按键与等级对应"), default=list)
    version = models.PositiveIntegerField(_("对应版本"), default=1)
    region = models.ForeignKey(
        "directory.Region",
        verbose_name=_("所属地区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("不填为全平台通用型号（系统管理员维护）"),
    )
    is_active = models.BooleanField(_("在用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("评价器型号")
        verbose_name_plural = _("评价器型号")
        ordering = ["buttons", "code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def device_kind(self) -> str:
        return f"buttons{self.buttons}"

    def entry(self, button: int) -> dict | None:
        return next((e for e in self.mapping if e.get("button") == button), None)


class LegacyDevice(models.Model):
    """按键评价器: one button evaluator on a window, known by its serial number; its bridge reports the presses."""

    SCOPE_LOOKUPS = WINDOW_SCOPE

    window = models.ForeignKey(Window, verbose_name=_("窗口"), on_delete=models.PROTECT, related_name="+")
    model = models.ForeignKey(LegacyDeviceModel, verbose_name=_("型号"), on_delete=models.PROTECT, related_name="+")
    serial = models.CharField(_("序列号"), max_length=60, unique=True)
    name = models.CharField(_("设备名称"), max_length=60, blank=True)
    registered_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("最近上报"), null=True, blank=True)

    class Meta:
        verbose_name = _("按键评价器")
        verbose_name_plural = _("按键评价器")
        ordering = ["window_id", "id"]

    def __str__(self) -> str:
        return f"{self.name or self.serial}（{self.window}）"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LegacyPress(models.Model):
    """按键记录: one event a button evaluator reported, a press (mapped to a grade) or a timeout (not rated)."""

    SCOPE_LOOKUPS = {"region": "device__window__hall__region__path", "unit": "device__window__unit_id"}

    class Kind(models.TextChoices):
        PRESS = "press", _("按键评价")
        TIMEOUT = "timeout", _("超时未评")

    device = models.ForeignKey(LegacyDevice, verbose_name=_("设备"), on_delete=models.PROTECT, related_name="presses")
    model = models.ForeignKey(LegacyDeviceModel, verbose_name=_("型号"), on_delete=models.PROTECT, related_name="+")
    mapping_version = models.PositiveIntegerField(_("对应版本"))
    mapping_entry = models.JSONField(_("所用对应"), default=dict, blank=True)
    kind = models.CharField(_("事件"), max_length=10, choices=Kind.choices)
    button = models.PositiveSmallIntegerField(_("按键"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(_("满意度"), null=True, blank=True)
    prompt = models.ForeignKey(
        EvaluatorPrompt, verbose_name=_("评价推送"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rating_public_id = models.UUIDField(_("评价编号"), null=True, blank=True)
    idempotency_key = models.CharField(_("幂等键"), max_length=100)
    at = models.DateTimeField(_("发生时间"))
    received_at = models.DateTimeField(_("接收时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("按键记录")
        verbose_name_plural = _("按键记录")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "idempotency_key"], name="legacy_press_key_unique_per_device")
        ]
        indexes = [models.Index(fields=["kind", "at"], name="legacy_press_kind_at")]

    def __str__(self) -> str:
        return f"{self.device} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"
