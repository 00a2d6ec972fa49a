"""Memberships (login → unit + role) and API keys of calling business systems."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.directory.models import Organisation, Region
from haochaping.lib.origins import validate_origins


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    AGENCY_ADMIN = "agency_admin", _("管理机构管理员")
    DEPARTMENT_ADMIN = "department_admin", _("部门管理员")
    CASE_HANDLER = "case_handler", _("差评处理人员")
    WINDOW_STAFF = "window_staff", _("窗口工作人员")
    INSPECTOR = "inspector", _("监督检查人员")
    AUDITOR = "auditor", _("只读审计人员")


class Membership(models.Model):
    """Which unit a login belongs to and in which role. Scope follows from these two (accounts/scope.py)."""

    SCOPE_LOOKUPS = {"region": "unit__region__path", "unit": "unit_id"}

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="membership"
    )
    unit = models.ForeignKey(Organisation, verbose_name=_("所属单位"), on_delete=models.PROTECT, related_name="members")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("用户角色")
        verbose_name_plural = _("用户角色")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit}"


class ApiKey(models.Model):
    """A calling business system's key. Only a SHA-256 of the secret is stored; the secret is shown once."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    name = models.CharField(_("调用系统名称"), max_length=100)
    prefix = models.CharField(_("密钥前缀"), max_length=16, unique=True)
    key_hash = models.CharField(_("密钥摘要"), max_length=64, unique=True, editable=False)
    unit = models.ForeignKey(
        Organisation,
        verbose_name=_("限定单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
    )
    region = models.ForeignKey(
        Region, verbose_name=_("限定区划"), null=True, blank=True, on_delete=models.PROTECT, related_name="api_keys"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    allowed_origins = models.TextField(
        _("允许嵌入的来源"),
        blank=True,
        validators=[validate_origins],
        help_text=_("评价组件可嵌入的网站来源，每行一个，如 https://zwfw.example.gov.cn；留空则不允许其他网站嵌入。"),
    )

    class Meta:
        verbose_name = _("接口密钥")
        verbose_name_plural = _("接口密钥")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(unit__isnull=False) & models.Q(region__isnull=True))
                | (models.Q(unit__isnull=True) & models.Q(region__isnull=False)),
                name="api_key_scoped_to_unit_xor_region",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.prefix}…）"

    def clean(self) -> None:
        if bool(self.unit_id) == bool(self.region_id):
            raise ValidationError(_("接口密钥必须且只能限定到一个单位或一个行政区划"))

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
