"""The directory of everything that can be rated (组织机构与事项目录).

Each object carries the codes used by the national standards, so imports are idempotent on them:
Region.code (12-digit 行政区划代码), Organisation.uscc (统一社会信用代码), Hall.code, Window (hall, code),
Staff.code, ServiceItem.implementation_code (实施编码), Platform.code.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from haochaping.lib.regioncode import region_code_error, region_level
from haochaping.lib.uscc import uscc_error


def validate_region_code(value: str) -> None:
    if error := region_code_error(value):
        raise ValidationError(error)


def validate_uscc(value: str) -> None:
    if error := uscc_error(value):
        raise ValidationError(error)


class Region(models.Model):
    """行政区划: a node of the province → city → county → township tree."""

    SCOPE_LOOKUPS = {"region": "path"}

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("省级")
        CITY = 2, _("市级")
        COUNTY = 3, _("县级")
        TOWNSHIP = 4, _("乡镇（街道）")
        VILLAGE = 5, _("村（社区）")

    code = models.CharField(_("行政区划代码"), max_length=12, unique=True, validators=[validate_region_code])
    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(_("层级"), choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级区划"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path of codes ("330000000000/330100000000/"): subtree queries are one indexed prefix match.
    path = models.CharField(_("路径"), max_length=80, db_index=True, editable=False)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def save(self, *args, **kwargs) -> None:
        if not self.level:
            self.level = region_level(self.code)
        self.path = (self.parent.path if self.parent_id else "") + self.code + "/"
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.code and not self.level:
            self.level = region_level(self.code)
        if self.parent_id and self.parent and self.parent.level >= (self.level or 0):
            raise ValidationError({"parent": _("上级区划的层级必须高于本区划")})

    def subtree_q(self, prefix: str = "region__") -> models.Q:
        return models.Q(**{f"{prefix}path__startswith": self.path})


class Organisation(models.Model):
    """机构/部门: the management agency of a region, a department, or another unit that serves the public."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "id"}

    class Kind(models.TextChoices):
        AGENCY = "agency", _("政务服务管理机构")
        DEPARTMENT = "department", _("政府部门")
        PUBLIC_INSTITUTION = "institution", _("事业单位")
        ENTERPRISE = "enterprise", _("公共企事业单位")
        OTHER = "other", _("其他单位")

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc])
    name = models.CharField(_("名称"), max_length=200)
    short_name = models.CharField(_("简称"), max_length=60, blank=True)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, default=Kind.DEPARTMENT)
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="units")
    parent = models.ForeignKey(
        "self", verbose_name=_("上级单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # The kind of department across regions (公安, 人社, 市场监管 …): what a complaint without a named unit is
    # routed by (insight/routing.py); derived from the name when left blank (directory/categories.py).
    category = models.CharField(
        _("部门类别"),
        max_length=30,
        blank=True,
        help_text=_("如 公安、人社、市场监管；用于投诉分派建议，留空按名称推断"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("机构/部门")
        verbose_name_plural = _("机构/部门")
        ordering = ["region__code", "name"]
        constraints = [
            # One management agency per region (regime.md §1).
            models.UniqueConstraint(fields=["region"], condition=models.Q(kind="agency"), name="one_agency_per_region")
        ]

    def __str__(self) -> str:
        return self.name


class Hall(models.Model):
    """政务服务中心/大厅/便民服务站点."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class Kind(models.TextChoices):
        CENTRE = "centre", _("政务服务中心")
        HALL = "hall", _("分中心/专业大厅")
        STATION = "station", _("便民服务站点")

    code = models.CharField(_("大厅编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, default=Kind.CENTRE)
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="halls")
    unit = models.ForeignKey(Organisation, verbose_name=_("管理单位"), on_delete=models.PROTECT, related_name="halls")
    address = models.CharField(_("地址"), max_length=300, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("服务大厅")
        verbose_name_plural = _("服务大厅")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Window(models.Model):
    """窗口: a counter in a hall, staffed by one unit."""

    SCOPE_LOOKUPS = {"region": "hall__region__path", "unit": "unit_id"}

    hall = models.ForeignKey(Hall, verbose_name=_("所属大厅"), on_delete=models.PROTECT, related_name="windows")
    code = models.CharField(_("窗口编号"), max_length=40)
    name = models.CharField(_("窗口名称"), max_length=100)
    unit = models.ForeignKey(Organisation, verbose_name=_("进驻单位"), on_delete=models.PROTECT, related_name="windows")
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("窗口")
        verbose_name_plural = _("窗口")
        ordering = ["hall__code", "code"]
        constraints = [models.UniqueConstraint(fields=["hall", "code"], name="window_code_unique_in_hall")]

    def __str__(self) -> str:
        return f"{self.hall.name} {self.code}号窗口 {self.name}"


class Staff(models.Model):
    """工作人员: serves at windows or handles cases; linked to a login where they have one."""

    SCOPE_LOOKUPS = {"region": "unit__region__path", "unit": "unit_id", "staff": "id"}

    code = models.CharField(_("工号"), max_length=40, unique=True)
    name = models.CharField(_("姓名"), max_length=50)
    unit = models.ForeignKey(Organisation, verbose_name=_("所属单位"), on_delete=models.PROTECT, related_name="staff")
    window = models.ForeignKey(
        Window, verbose_name=_("常驻窗口"), null=True, blank=True, on_delete=models.SET_NULL, related_name="staff"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登录账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff_profile",
    )
    title = models.CharField(_("岗位"), max_length=60, blank=True)
    photo = models.ImageField(_("照片"), upload_to="staff/", blank=True)
    is_active = models.BooleanField(_("在岗"), default=True)

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")
        ordering = ["unit_id", "code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class ServiceItem(models.Model):
    """政务服务事项 (catalogue entry), per GB/T 39046: 基本编码 + 实施编码."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class ItemType(models.TextChoices):
        # GB/T 39046-2020 附录 A.1 事项类型
        LICENSING = "01", _("行政许可")
        PENALTY = "02", _("行政处罚")
        COERCION = "03", _("行政强制")
        LEVY = "04", _("行政征收")
        PAYMENT = "05", _("行政给付")
        INSPECTION = "06", _("行政检查")
        CONFIRMATION = "07", _("行政确认")
        AWARD = "08", _("行政奖励")
        ADJUDICATION = "09", _("行政裁决")
        OTHER_POWER = "10", _("其他行政权力")
        PUBLIC_SERVICE = "20", _("公共服务")

    class ServiceObject(models.TextChoices):
        # GB/T 39046 服务对象 (the code list allows several per item; stored comma-separated)
        PERSON = "1", _("自然人")
        ENTERPRISE = "2", _("企业法人")
        INSTITUTION = "3", _("事业法人")
        SOCIAL_ORG = "4", _("社会组织法人")
        UNINCORPORATED = "5", _("非法人企业")
        GOVERNMENT = "6", _("行政机关")
        OTHER = "9", _("其他组织")

    basic_code = models.CharField(_("基本编码"), max_length=40, db_index=True)
    implementation_code = models.CharField(_("实施编码"), max_length=60, unique=True)
    name = models.CharField(_("事项名称"), max_length=300)
    item_type = models.CharField(_("事项类型"), max_length=2, choices=ItemType.choices)
    service_objects = models.CharField(_("服务对象"), max_length=20, help_text=_("代码，逗号分隔，如 1,2"))
    unit = models.ForeignKey(
        Organisation, verbose_name=_("实施主体"), on_delete=models.PROTECT, related_name="service_items"
    )
    region = models.ForeignKey(
        Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="service_items"
    )
    on_site = models.BooleanField(_("可现场办理"), default=True)
    online = models.BooleanField(_("可网上办理"), default=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("政务服务事项")
        verbose_name_plural = _("政务服务事项")
        ordering = ["implementation_code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        codes = [c.strip() for c in (self.service_objects or "").split(",") if c.strip()]
        valid = set(self.ServiceObject.values)
        if not codes or any(c not in valid for c in codes):
            raise ValidationError({"service_objects": _("服务对象代码无效，可选：1,2,3,4,5,6,9")})
        self.service_objects = ",".join(dict.fromkeys(codes))


class Platform(models.Model):
    """政务服务平台/渠道: web portal, app, mini-program, self-service terminal, 12345 hotline."""

    SCOPE_LOOKUPS = {"region": "region__path", "unit": "unit_id"}

    class Kind(models.TextChoices):
        WEB = "web", _("网上办事大厅（PC）")
        APP = "app", _("移动端App")
        MINI_PROGRAM = "mini_program", _("小程序")
        TERMINAL = "terminal", _("自助服务终端")
        HOTLINE = "hotline", _("12345热线")

    code = models.CharField(_("平台编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    region = models.ForeignKey(Region, verbose_name=_("行政区划"), on_delete=models.PROTECT, related_name="platforms")
    unit = models.ForeignKey(
        Organisation, verbose_name=_("运营单位"), on_delete=models.PROTECT, related_name="platforms"
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("服务平台")
        verbose_name_plural = _("服务平台")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
