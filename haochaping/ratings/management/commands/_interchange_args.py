"""Arguments shared by export_ratings and import_ratings: time bounds and the region that limits the scope."""

from __future__ import annotations

from datetime import date, datetime

from django.core.management.base import CommandError

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Region
from haochaping.lib.regioncode import region_code_error
from haochaping.ratings.interchange import CHINA_TZ


def parse_moment(value: str | None, option: str) -> datetime | None:
    """ISO date (midnight, Beijing time) or ISO date-time; without a zone it is Beijing time."""
    if not value:
        return None
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=CHINA_TZ)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} 应为日期或时间（如 2026-01-01 或 2026-01-01T08:00）：{value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)


def region_scope(code: str) -> Scope:
    """The data scope of a region's management agency: the region and everything below it."""
    error = region_code_error(code)
    if error:
        raise CommandError(f"--region：{error}：{code!r}")
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise CommandError(f"--region：行政区划不存在：{code}")
    return Scope(kind="region", region_path=region.path, region_id=region.id, label=region.name)
