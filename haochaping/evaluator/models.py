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
