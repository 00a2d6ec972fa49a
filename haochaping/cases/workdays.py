"""Working days on the Chinese statutory calendar (法定节假日与调休).

The ``chinesecalendar`` package carries the State Council's published holidays and make-up working days
(调休) up to the last year it knows; ``CalendarDay`` rows (admin: 节假日调整) override it and fill the years
it does not cover yet. For a year neither covers, only weekends and the fixed-date statutory holidays are
known: ``uncovered_years`` names such years so that the admin can enter the schedule when it is published.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import chinese_calendar
from django.utils import timezone

# Fixed-date statutory holidays (《全国年节及纪念日放假办法》, 2025): used only for years nothing covers.
_FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}
_TTL = 60.0
_cache: dict = {"at": 0.0, "days": {}}
# Memo of answers (a deadline is asked for the same few dates thousands of times a day; the package's own
# look-up costs ~25 µs). Emptied whenever the overrides are re-read.
_memo: dict = {}


def _package_years() -> range:
    known = chinese_calendar.holidays.keys() | chinese_calendar.workdays.keys()
    return range(min(known).year, max(known).year + 1)


PACKAGE_YEARS = _package_years()


def _overrides() -> dict[date, bool]:
    now = time.monotonic()
    if now - _cache["at"] > _TTL:
        from haochaping.cases.models import CalendarDay

        _cache["days"] = dict(CalendarDay.objects.values_list("date", "is_workday"))
        _cache["at"] = now
        _memo.clear()
    return _cache["days"]


def clear_cache() -> None:
    _cache["at"] = 0.0
    _memo.clear()


def is_workday(day: date) -> bool:
    overrides = _overrides()
    answer = _memo.get(day)
    if answer is None:
        answer = _memo[day] = _is_workday(day, overrides)
    return answer


def _is_workday(day: date, overrides: dict[date, bool]) -> bool:
    override = overrides.get(day)
    if override is not None:
        return override
    if day.year in PACKAGE_YEARS:
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS


def uncovered_years(years: range | list[int]) -> list[int]:
    """Years among ``years`` that neither the package nor any override row covers."""
    entered = {d.year for d in _overrides()}
    return [y for y in years if y not in PACKAGE_YEARS and y not in entered]


def _as_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def add_workdays(start: date | datetime, n: int) -> date:
    """The n-th working day after ``start``'s date (the start day itself is not counted).

    n = 0 gives ``start`` if it is a working day, else the next one: a deadline always falls on a working day.
    """
    day = _as_date(start)
    _overrides()  # refresh (and empty the memo) first when the overrides are due
    key = ("add", day, n)
    answer = _memo.get(key)
    if answer is None:
        if len(_memo) > 100_000:
            _memo.clear()
        answer = _memo[key] = _add_workdays(day, n)
    return answer


def _add_workdays(day: date, n: int) -> date:
    if n <= 0:
        while not is_workday(day):
            day += timedelta(days=1)
        return day
    while n:
        day += timedelta(days=1)
        if is_workday(day):
            n -= 1
    return day


def workdays_between(start: date | datetime, end: date | datetime) -> int:
    """Working days in (start, end]: 0 when end is not after start."""
    a, b = _as_date(start), _as_date(end)
    count = 0
    while a < b:
        a += timedelta(days=1)
        if is_workday(a):
            count += 1
    return count


def today() -> date:
    return timezone.localdate()
