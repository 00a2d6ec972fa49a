"""The periods the public portal and the open data speak of: whole calendar months, up to today.

``?period=`` takes ``12m`` (the default: the last twelve months, this one to date), ``YYYY-MM``, ``YYYY-Qn`` or
``YYYY``. Whole months, because the per-事项 and per-hall figures are kept per month (analytics rollups), and a
public figure must mean the same on every page. A period that runs into the current month ends today and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from haochaping.analytics.performance import add_months, month_end
from haochaping.lib.errors import ValidationFailed

__all__ = ["DEFAULT", "PublicPeriod", "add_months", "choices", "parse", "today"]

DEFAULT = "12m"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class PublicPeriod:
    code: str  # the query value that names it
    start: date  # the first day of a month
    end: date  # inclusive: a month's last day, or today for the running month
    label: str

    @property
    def to_date(self) -> bool:
        """True when the period runs into the current month (its figures still grow)."""
        return self.end < month_end(self.end)

    @property
    def months(self) -> list[date]:
        out, m = [], self.start
        while m <= self.end:
            out.append(m)
            m = add_months(m, 1)
        return out

    def previous(self) -> PublicPeriod:
        """The period of the same length just before (for the change shown beside a figure)."""
        n = len(self.months)
        start = add_months(self.start, -n)
        return PublicPeriod(self.code, start, month_end(add_months(start, n - 1)), "")


def today() -> date:
    return timezone.localdate()


def parse(value: str | None, *, today_: date | None = None) -> PublicPeriod:
    """The period named by ``value`` (None or "" → the default); ValidationFailed naming ``period`` otherwise."""
    now = today_ or today()
    value = (value or DEFAULT).strip()
    first_this_month = now.replace(day=1)
    if value == DEFAULT:
        start = add_months(first_this_month, -11)
        return PublicPeriod(DEFAULT, start, now, _("近12个月"))
    start = end = None
    if m := _MONTH.match(value):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            start = date(year, month, 1)
            end = month_end(start)
            label = f"{year}年{month}月"
    elif m := _QUARTER.match(value):
        year, q = int(m[1]), int(m[2])
        start = date(year, 3 * q - 2, 1)
        end = month_end(add_months(start, 2))
        label = f"{year}年第{q}季度"
        value = f"{year}-Q{q}"
    elif m := _YEAR.match(value):
        year = int(m[1])
        start, end = date(year, 1, 1), date(year, 12, 31)
        label = f"{year}年"
    if start is None or start.year < 2000:
        raise ValidationFailed(_("统计期间格式应为 12m、YYYY-MM、YYYY-Qn 或 YYYY"), field="period")
    if start > now:
        raise ValidationFailed(_("统计期间不能晚于今天"), field="period")
    return PublicPeriod(value, start, min(end, now), label)


def choices(today_: date | None = None) -> list[tuple[str, str]]:
    """The periods offered in the portal's selector: the default, the last 12 months, 4 quarters, 3 years."""
    now = today_ or today()
    out = [(DEFAULT, _("近12个月"))]
    m = now.replace(day=1)
    for _i in range(12):
        out.append((f"{m:%Y-%m}", f"{m.year}年{m.month}月"))
        m = add_months(m, -1)
    q_start = date(now.year, (now.month - 1) // 3 * 3 + 1, 1)
    for _i in range(4):
        q = (q_start.month - 1) // 3 + 1
        out.append((f"{q_start.year}-Q{q}", f"{q_start.year}年第{q}季度"))
        q_start = add_months(q_start, -3)
    for year in range(now.year, now.year - 3, -1):
        out.append((str(year), f"{year}年"))
    return out
