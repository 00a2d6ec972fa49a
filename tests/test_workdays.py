"""Working days on the statutory calendar: holiday blocks, 调休 Saturdays, admin overrides and uncovered years.

The expected dates are the State Council's published schedules (国务院办公厅关于2025年/2026年部分节假日安排的
通知), checked against the ``chinesecalendar`` data the product uses.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haochaping.cases import workdays
from haochaping.cases.models import CalendarDay
from haochaping.cases.workdays import add_workdays, is_workday, uncovered_years, workdays_between

pytestmark = pytest.mark.django_db

D = date.fromisoformat


def days(first: str, last: str) -> list[date]:
    a, b = D(first), D(last)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


@pytest.mark.parametrize(
    "holiday, makeup",
    [
        # 2025 春节 1月28日（除夕）至2月4日放假，1月26日（周日）、2月8日（周六）上班
        (("2025-01-28", "2025-02-04"), ["2025-01-26", "2025-02-08"]),
        # 2025 国庆节、中秋节 10月1日至8日放假，9月28日（周日）、10月11日（周六）上班
        (("2025-10-01", "2025-10-08"), ["2025-09-28", "2025-10-11"]),
        # 2026 春节 2月15日（农历腊月二十八）至23日放假，2月14日（周六）、2月28日（周六）上班
        (("2026-02-15", "2026-02-23"), ["2026-02-14", "2026-02-28"]),
        # 2026 国庆节 10月1日至7日放假，9月20日（周日）、10月10日（周六）上班
        (("2026-10-01", "2026-10-07"), ["2026-09-20", "2026-10-10"]),
    ],
)
def test_it_follows_the_published_holiday_blocks_and_makeup_days(holiday, makeup):
    for day in days(*holiday):
        assert not is_workday(day), day
    for day in map(D, makeup):
        assert day.weekday() >= 5 and is_workday(day), day
    # The days around the block are ordinary working days.
    assert is_workday(D(holiday[0]) - timedelta(days=1)) or D(holiday[0]) - timedelta(days=1) in map(D, makeup)
    assert is_workday(D(holiday[1]) + timedelta(days=1))


def test_it_agrees_with_the_package_on_its_own_data():
    import chinese_calendar

    assert 2025 in workdays.PACKAGE_YEARS and 2026 in workdays.PACKAGE_YEARS
    for day in days("2025-01-01", "2026-12-31"):
        assert is_workday(day) == chinese_calendar.is_workday(day), day


def test_it_counts_a_makeup_saturday_as_a_working_day():
    # Friday before the Spring Festival 2026 + 1 working day = the make-up Saturday, then straight over the block.
    assert add_workdays(D("2026-02-13"), 1) == D("2026-02-14")
    assert add_workdays(D("2026-02-13"), 2) == D("2026-02-24")
    assert add_workdays(D("2026-10-08"), 2) == D("2026-10-10")  # Thu 8th → Fri 9th → make-up Sat 10th
    assert add_workdays(D("2025-09-26"), 1) == D("2025-09-28")  # Fri → make-up Sun 28th


def test_it_adds_working_days_over_a_holiday_block():
    assert add_workdays(D("2026-09-30"), 1) == D("2026-10-08")
    assert add_workdays(D("2026-09-30"), 3) == D("2026-10-10")
    assert add_workdays(D("2026-09-30"), 4) == D("2026-10-12")
    assert add_workdays(D("2025-01-27"), 1) == D("2025-02-05")
    # n = 0: the day itself if it is a working day, else the first working day after the block.
    assert add_workdays(D("2026-02-18"), 0) == D("2026-02-24")
    assert add_workdays(D("2026-02-24"), 0) == D("2026-02-24")


def test_it_takes_the_local_date_of_a_datetime():
    # 20:00 UTC on Friday 13 Feb is already Saturday 14 Feb (the make-up day) in Beijing.
    late = datetime(2026, 2, 13, 20, 0, tzinfo=ZoneInfo("UTC"))
    assert add_workdays(late, 0) == D("2026-02-14")
    assert add_workdays(late, 1) == D("2026-02-24")


def test_it_counts_working_days_between_two_dates():
    assert workdays_between(D("2026-02-13"), D("2026-02-24")) == 2  # 14th (make-up) and 24th
    assert workdays_between(D("2026-09-30"), D("2026-10-10")) == 3  # 8th, 9th, 10th
    assert workdays_between(D("2026-02-24"), D("2026-02-24")) == 0
    assert workdays_between(D("2026-02-24"), D("2026-02-13")) == 0  # end before start


def test_an_override_row_beats_the_package_at_once():
    assert is_workday(D("2026-12-31"))  # warms the cache: the signal must clear it
    CalendarDay.objects.create(date=D("2026-12-31"), is_workday=False, name="临时调整放假")
    assert not is_workday(D("2026-12-31"))
    assert add_workdays(D("2026-12-30"), 1) == D("2027-01-04")  # 31st off, 1 Jan off, weekend
    row = CalendarDay.objects.get(date=D("2026-12-31"))
    row.is_workday = True
    row.save()
    assert is_workday(D("2026-12-31"))
    CalendarDay.objects.create(date=D("2026-12-27"), is_workday=True, name="调休上班")  # a Sunday
    assert is_workday(D("2026-12-27"))


def test_a_year_nothing_covers_falls_back_to_weekends_and_fixed_holidays():
    assert 2027 not in workdays.PACKAGE_YEARS
    assert not is_workday(D("2027-01-01"))  # 元旦
    assert is_workday(D("2027-01-04"))  # Monday
    assert not is_workday(D("2027-02-06"))  # Saturday
    # 1–2 May fall on a weekend in 2027; without the published schedule Monday the 3rd counts as a working day.
    assert [is_workday(d) for d in days("2027-05-01", "2027-05-03")] == [False, False, True]
    assert not any(is_workday(d) for d in days("2027-10-01", "2027-10-03"))
    assert is_workday(D("2027-10-04"))  # Monday: the 2027 schedule is not known yet
    assert add_workdays(D("2026-12-31"), 1) == D("2027-01-04")


def test_uncovered_years_are_reported_until_rows_for_them_exist():
    assert uncovered_years(range(2025, 2029)) == [2027, 2028]
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(date=D("2027-02-06"), is_workday=False, name="春节"),
            CalendarDay(date=D("2027-02-20"), is_workday=True, name="春节调休上班"),
        ]
    )
    workdays.clear_cache()  # bulk_create sends no signals
    assert uncovered_years(range(2025, 2029)) == [2028]
    assert is_workday(D("2027-02-20")) and not is_workday(D("2027-02-08") - timedelta(days=2))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)), n=st.integers(0, 30))
def test_add_workdays_never_lands_on_a_day_off(db, start, n):
    end = add_workdays(start, n)
    assert is_workday(end)
    assert end >= start
    if n == 0:
        assert end == start if is_workday(start) else workdays_between(start, end) == 1
    else:
        assert end > start and workdays_between(start, end) == n
    # No working day is skipped: every working day strictly between start and end is counted.
    assert sum(is_workday(start + timedelta(days=i)) for i in range(1, (end - start).days + 1)) == max(
        n, int(not is_workday(start) and n == 0)
    )
