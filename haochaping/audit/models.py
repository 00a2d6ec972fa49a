"""Audit records (审计): who saw a rater's identity and why, and what administrators changed.

Both logs are append-only: rows are written by audit/services.py and never updated or deleted through the
product (the model, its queryset and the admin refuse it). They hold no personal data of raters in clear:
identity-access rows name the record and the field, never the value; administrative rows carry masked values.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised on an attempt to change or delete an audit record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit records are append-only")

    def delete(self):
        raise AppendOnlyError("audit records are append-only")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("audit records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit records are append-only")


class IdentityAccess(AppendOnlyModel):
    """One view of a rater's or applicant's unmasked identity (评价人身份查看记录)."""

    SCOPE_LOOKUPS = {"region": "region_path", "unit": "unit_id"}

    class Field(models.TextChoices):
        PHONE = "phone", _("手机号")
        NAME = "name", _("姓名")
        CERT = "cert", _("证件号")

    class Record(models.TextChoices):
        RATING = "rating", _("评价")
        CASE = "case", _("差评工单")
        SERVICE_CASE = "service_case", _("办件")
        SMS = "sms", _("短信")

    at = models.DateTimeField(_("查看时间"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("查看人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept in clear so that the entry still names the person after the login is removed.
    username = models.CharField(_("查看人账号"), max_length=150)
    record_kind = models.CharField(_("记录类型"), max_length=15, choices=Record.choices)
    record_id = models.CharField(_("记录编号"), max_length=64, db_index=True)
    rating_public_id = models.CharField(_("评价编号"), max_length=64, blank=True, db_index=True)
    case_number = models.CharField(_("工单编号"), max_length=64, blank=True)
    service_case_no = models.CharField(_("办件编号"), max_length=64, blank=True)
    field = models.CharField(_("字段"), max_length=10, choices=Field.choices)
    reason = models.TextField(_("查看理由"))
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=300, blank=True)
    region_path = models.CharField(_("区划路径"), max_length=200, blank=True, db_index=True)
    unit_id = models.IntegerField(_("单位"), null=True, blank=True)

    class Meta:
        verbose_name = _("评价人身份查看记录")
        verbose_name_plural = _("评价人身份查看记录")
        ordering = ("-at", "-id")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.record_id} {self.field}"


class AdminAction(AppendOnlyModel):
    """One administrative change (管理操作日志): directory, role grants, API keys, configuration, purges."""

    SCOPE_LOOKUPS = {"region": "region_path", "unit": "unit_id"}

    class Action(models.TextChoices):
        CREATE = "create", _("新增")
        UPDATE = "update", _("修改")
        DELETE = "delete", _("删除")
        PURGE = "purge", _("清除个人信息")
        ROTATE = "rotate", _("密钥轮换")

    class Source(models.TextChoices):
        ADMIN = "admin", _("管理后台")
        WEB = "web", _("业务页面")
        API = "api", _("接口")
        COMMAND = "command", _("命令/导入")
        SYSTEM = "system", _("后台任务")

    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(_("操作人/来源"), max_length=150, blank=True)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    action = models.CharField(_("操作"), max_length=10, choices=Action.choices)
    app_label = models.CharField(_("模块"), max_length=50)
    model = models.CharField(_("对象类型"), max_length=50, db_index=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    # {field: [old, new]}; personal values masked (audit/services.py mask_value).
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    region_path = models.CharField(_("区划路径"), max_length=200, blank=True, db_index=True)
    unit_id = models.IntegerField(_("单位"), null=True, blank=True)

    class Meta:
        verbose_name = _("管理操作日志")
        verbose_name_plural = _("管理操作日志")
        ordering = ("-at", "-id")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.model} {self.object_id}"
