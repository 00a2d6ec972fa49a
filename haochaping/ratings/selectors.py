"""Reads of the ratings app (selectors): scoped, filtered, cursor-paginated rating lists."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from haochaping.accounts.scope import Scope
from haochaping.lib.errors import ValidationFailed
from haochaping.ratings.codes import GRADE_NAMES
from haochaping.ratings.models import Rating


@dataclass
class RatingFilters:
    since: datetime | None = None
    until: datetime | None = None
    grade: str | None = None
    bad_only: bool = False
    channel: str | None = None
    region: str | None = None
    unit_uscc: str | None = None
    case_no: str | None = None
    staff_code: str | None = None
    is_default: bool | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"r:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "r":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("分页游标无效", field="cursor") from None


def rating_list(
    *, scope: Scope, filters: RatingFilters, cursor: str | None, limit: int
) -> tuple[list[Rating], str | None]:
    """Newest first; `cursor` continues after the last row of the previous page (stable under inserts)."""
    qs: QuerySet[Rating] = scope.filter(Rating.objects.all())
    f = filters
    if f.since:
        qs = qs.filter(rated_at__gte=f.since)
    if f.until:
        qs = qs.filter(rated_at__lt=f.until)
    if f.grade:
        if f.grade not in GRADE_NAMES:
            raise ValidationFailed(f"等级名称无效：{f.grade}", field="grade")
        qs = qs.filter(grade=GRADE_NAMES[f.grade])
    if f.bad_only:
        qs = qs.filter(grade__lte=2)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.region:
        qs = qs.filter(region__path__contains=f"{f.region}/")
    if f.unit_uscc:
        qs = qs.filter(unit__uscc=f.unit_uscc)
    if f.case_no:
        qs = qs.filter(service_case__case_no=f.case_no)
    if f.staff_code:
        qs = qs.filter(staff__code=f.staff_code)
    if f.is_default is not None:
        qs = qs.filter(is_default=f.is_default)
    if cursor:
        qs = qs.filter(id__lt=decode_cursor(cursor))
    rows = list(
        qs.select_related(
            "service_case", "service_item", "unit", "region", "hall", "window", "staff", "platform", "tag_set"
        ).order_by("-id")[: limit + 1]
    )
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def bad_review_case_number(rating_id: str | None) -> str:
    """The number of the case a 差评 opened (the cases app opens it with the rating), for the thank-you page."""
    if not rating_id:
        return ""
    rating = Rating.objects.filter(public_id=rating_id).select_related("case").first()
    case = getattr(rating, "case", None) if rating else None
    return case.number if case else ""
