"""Enumerations of the evaluation record and their mappings to external code lists — all in one table.

Internally the grade is an explicit enum ordered from worst (1) to best (5). Every boundary maps it:
- GB/T 39046-2020 A.8 满意度代码: 1 = 非常满意 … 5 = 非常不满意 (reversed).
- Provincial interfaces ("alternate"): 1 = 非常不满意 … 5 = 非常满意.
- Our JSON API uses the names ("very_satisfied" …), never a bare number.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Grade(models.IntegerChoices):
    VERY_DISSATISFIED = 1, _("非常不满意")
    DISSATISFIED = 2, _("不满意")
    BASIC = 3, _("基本满意")
    SATISFIED = 4, _("满意")
    VERY_SATISFIED = 5, _("非常满意")


BAD_GRADES = frozenset({Grade.VERY_DISSATISFIED, Grade.DISSATISFIED})
GOOD_GRADES = frozenset({Grade.SATISFIED, Grade.VERY_SATISFIED})

GRADE_NAMES: dict[str, Grade] = {
    "very_dissatisfied": Grade.VERY_DISSATISFIED,
    "dissatisfied": Grade.DISSATISFIED,
    "basic": Grade.BASIC,
    "satisfied": Grade.SATISFIED,
    "very_satisfied": Grade.VERY_SATISFIED,
}
GRADE_NAME_OF: dict[int, str] = {int(v): k for k, v in GRADE_NAMES.items()}

# The two label sets in use (regime.md §2.1), chosen per deployment by HAOCHAPING_GRADE_LABELS.
GRADE_LABEL_SETS: dict[str, dict[int, str]] = {
    "satisfaction": {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"},
    "quality": {5: "很好", 4: "好", 3: "一般", 2: "差", 1: "很差"},
}
# English labels for the language switch.
GRADE_LABELS_EN: dict[str, dict[int, str]] = {
    "satisfaction": {
        5: "Very satisfied",
        4: "Satisfied",
        3: "Fairly satisfied",
        2: "Dissatisfied",
        1: "Very dissatisfied",
    },
    "quality": {5: "Very good", 4: "Good", 3: "Average", 2: "Poor", 1: "Very poor"},
}


def is_bad(grade: int) -> bool:
    """差评 is derived, never stored: the lower two grades."""
    return grade <= Grade.DISSATISFIED


def grade_label(grade: int, language: str = "zh-hans") -> str:
    labels = GRADE_LABELS_EN if language.startswith("en") else GRADE_LABEL_SETS
    return labels[settings.HAOCHAPING_GRADE_LABELS][int(grade)]


def grade_to_gb(grade: int) -> int:
    """Internal grade → GB/T 39046 A.8 满意度代码 (1 = 非常满意)."""
    return 6 - int(Grade(grade))


def grade_from_gb(code: int) -> Grade:
    if code not in (1, 2, 3, 4, 5):
        raise ValueError(f"满意度代码应为1–5，实际为{code!r}")
    return Grade(6 - code)


def grade_to_provincial(grade: int) -> int:
    """Internal grade → provincial interface code (1 = 非常不满意)."""
    return int(Grade(grade))


def grade_from_provincial(code: int) -> Grade:
    if code not in (1, 2, 3, 4, 5):
        raise ValueError(f"评价等级代码应为1–5，实际为{code!r}")
    return Grade(code)


class Channel(models.TextChoices):
    PC = "pc", _("PC端")
    APP = "app", _("移动端App")
    MINI_PROGRAM = "mini_program", _("小程序")
    QR = "qr", _("二维码")
    HALL_TABLET = "hall_tablet", _("大厅评价器")
    HALL_TERMINAL = "hall_terminal", _("其他大厅终端")
    PHONE = "phone", _("电话/热线")
    SMS = "sms", _("短信")
    PAPER = "paper", _("纸质评价")
    DEFAULT = "default", _("系统默认")


ONLINE_CHANNELS = frozenset({Channel.PC, Channel.APP, Channel.MINI_PROGRAM})

# Channel → (provincial `pf` code, GB/T 39046 table 9 评价渠道 name). Codes 6 and 7 depend on the province
# (settings HAOCHAPING_PF6 / HAOCHAPING_PF7); channels without a code of their own are sent as 5 (other hall
# terminal: paper) or 2 (mobile: mini-program), which the export documents as lossy.
_GB_CHANNEL_NAMES: dict[str, str] = {
    Channel.PC: "PC端",
    Channel.APP: "移动端",
    Channel.MINI_PROGRAM: "移动端",
    Channel.QR: "二维码",
    Channel.HALL_TABLET: "政务服务大厅评价器",
    Channel.HALL_TERMINAL: "政务服务大厅其他终端",
    Channel.PHONE: "电话",
    Channel.SMS: "短信",
    Channel.PAPER: "纸质评价表",
    Channel.DEFAULT: "系统默认评价",
}


def pf_table() -> dict[int, str]:
    """Provincial pf code → channel, for import."""
    return {
        1: Channel.PC,
        2: Channel.APP,
        3: Channel.QR,
        4: Channel.HALL_TABLET,
        5: Channel.HALL_TERMINAL,
        6: Channel(settings.HAOCHAPING_PF6),
        7: Channel(settings.HAOCHAPING_PF7),
    }


def channel_to_pf(channel: str) -> int:
    for code, ch in pf_table().items():
        if ch == channel:
            return code
    return {Channel.MINI_PROGRAM: 2, Channel.PAPER: 5}.get(channel, 5)


def channel_from_pf(code: int) -> str:
    try:
        return pf_table()[int(code)]
    except (KeyError, ValueError):
        raise ValueError(f"评价渠道代码pf无效：{code!r}（可选1–7）") from None


def channel_to_gb(channel: str) -> str:
    return _GB_CHANNEL_NAMES[channel]


def channel_from_gb(name: str) -> str:
    for channel, gb_name in _GB_CHANNEL_NAMES.items():
        if gb_name == name:
            return channel
    raise ValueError(f"评价渠道名称无效：{name!r}")


class Stage(models.TextChoices):
    ACCEPT = "accept", _("受理")
    COMPLETE = "complete", _("办结")


class CaseStatus(models.IntegerChoices):
    PENDING = 1, _("待受理")
    ACCEPTED = 2, _("已受理")
    COMPLETED = 3, _("已办结")


class RaterKind(models.IntegerChoices):
    PERSON = 1, _("自然人")
    LEGAL_ENTITY = 2, _("法人")


class Target(models.TextChoices):
    """What a rating is about: coverage of each kind is itself a metric (regime.md §2.2)."""

    CASE = "case", _("办件")
    ITEM = "item", _("事项")
    UNIT = "unit", _("机构/部门")
    HALL = "hall", _("大厅")
    WINDOW = "window", _("窗口")
    STAFF = "staff", _("人员")
    PLATFORM = "platform", _("平台")


class Adoption(models.TextChoices):
    """Whether a rating counts: 误评/恶意差评 are set aside only after the agency's review, never deleted."""

    ADOPTED = "adopted", _("有效")
    UNDER_REVIEW = "under_review", _("申诉复核中")
    NOT_ADOPTED = "not_adopted", _("不予采纳")


# Detail questions the rater may answer voluntarily (regime.md §2.5).
DETAIL_QUESTIONS: dict[str, str] = {
    "guidance_clear": _("服务指引是否清晰"),
    "process_convenient": _("办事程序是否便利"),
    "materials_simplified": _("材料手续是否精简"),
    "interface_friendly": _("操作界面是否友好"),
}
DETAIL_ANSWERS = {"yes": _("是"), "no": _("否"), "unsure": _("一般")}
