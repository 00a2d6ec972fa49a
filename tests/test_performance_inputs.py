"""绩效数据, 表扬候选 and 关注名单: figures equal a count over the ratings, exports, thresholds, evidence, scope."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import ALL_SCOPE, scope_for_api_key, scope_for_user
from haochaping.analytics import performance as perf
from haochaping.cases import workdays
from haochaping.cases.models import Case
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.ratings.codes import GRADE_NAMES
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating

GRADES = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"]


def _at(months_back: int, day: int = 15) -> datetime:
    """Noon on ``day`` of the month ``months_back`` months before this one (local time)."""
    first = perf.add_months(workdays.today(), -months_back)
    return timezone.make_aware(datetime.combine(first.replace(day=day), time(12)))


def _rate(world, grades: list[str], *, county: str = "a", months_back: int = 1, staff: bool = True, **extra) -> None:
    c = getattr(world, county)
    key = ApiKey.objects.get(name="上城区审批系统" if county == "a" else "拱墅区审批系统")
    items = []
    for i, g in enumerate(grades):
        item = {
            "grade": g,
            "channel": "hall_tablet",
            "window": {"hall": c.hall.code, "code": c.window.code},
            # this month: just now (never in the future); earlier months: spread over days 1–27
            "rated_at": (timezone.now() if months_back == 0 else _at(months_back, 1 + i % 27)).isoformat(),
            **extra,
        }
        if staff:
            item["staff_code"] = c.clerk.code
        items.append(item)
    results = submit_ratings(items, scope=scope_for_api_key(key), client="test")
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]


def _complain(world, n: int, *, county: str = "a") -> list[Case]:
    c = getattr(world, county)
    return [
        complaint_open(
            ComplaintIn(content="窗口人员态度差", contact_phone="13800138000", staff_code=c.clerk.code), scope=ALL_SCOPE
        )
        for _ in range(n)
    ]


def _client(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


# --- periods ---------------------------------------------------------------------------------------------


def test_periods_parse_and_default_to_the_last_whole_month():
    p = perf.parse_period("2026-10")
    assert (p.kind, p.start.isoformat(), p.end.isoformat(), p.code) == ("month", "2026-10-01", "2026-10-31", "2026-10")
    q = perf.parse_period("2026-Q1")
    assert (q.start.isoformat(), q.end.isoformat(), q.code) == ("2026-01-01", "2026-03-31", "2026-Q1")
    y = perf.parse_period("2025")
    assert (y.start.isoformat(), y.end.isoformat()) == ("2025-01-01", "2025-12-31")
    assert perf.parse_period("").start == perf.add_months(workdays.today(), -1)
    assert perf.parse_period("2026-12").next().code == "2027-01" and q.previous().code == "2025-Q4"
    for bad in ("2026-13", "26-1", "2026-Q5", "x", "1999"):
        with pytest.raises(ValueError):
            perf.parse_period(bad)


# --- the sheet -------------------------------------------------------------------------------------------


def test_sheet_figures_equal_counts_over_the_ratings(world):
    grades = ["very_satisfied"] * 5 + ["satisfied"] * 3 + ["basic"] * 2 + ["dissatisfied"] * 2 + ["very_dissatisfied"]
    _rate(world, grades)
    _rate(world, ["basic"] * 4, is_default=True, channel="default", staff=False)
    _rate(world, ["satisfied"] * 2, months_back=0)  # this month: outside the period
    _rate(world, ["very_satisfied"] * 3, county="b", staff=False)
    period = perf.parse_period("")
    units = {r["unit_uscc"]: r for r in perf.unit_sheet(ALL_SCOPE, period)}
    a = units[world.a.dept.uscc]
    lo = _at(1, 1).replace(hour=0)
    in_period = Rating.objects.filter(unit=world.a.dept, rated_at__gte=lo, rated_at__lt=_at(0, 1).replace(hour=0))
    active = in_period.filter(is_default=False)
    assert a["ratings_counted"] == in_period.count() == 17
    assert a["ratings_active"] == active.count() == 13 and a["ratings_default"] == 4
    good = active.filter(grade__gte=GRADE_NAMES["satisfied"]).count()
    bad = active.filter(grade__lte=GRADE_NAMES["dissatisfied"]).count()
    assert (a["ratings_good"], a["ratings_bad"]) == (good, bad) == (8, 3)
    assert a["good_rate"] == pytest.approx(8 / 13) and a["bad_rate"] == pytest.approx(3 / 13)
    assert a["good_rate_with_default"] == pytest.approx(8 / 17) and a["bad_rate_with_default"] == pytest.approx(3 / 17)
    assert a["score"] == pytest.approx((5 * 100 + 3 * 75 + 2 * 50 + 2 * 25) / 13)
    assert a["complaints"] == 0
    assert a["period"] == period.code and a["region_code"] == world.a.region.code
    assert units[world.b.dept.uscc]["ratings_active"] == 3
    assert units[world.a.agency.uscc]["ratings_counted"] == 0 and units[world.a.agency.uscc]["good_rate"] is None
    staff = {r["staff_code"]: r for r in perf.staff_sheet(ALL_SCOPE, period)}
    clerk = staff[world.a.clerk.code]
    assert clerk["ratings_active"] == active.filter(staff=world.a.clerk).count() == 13
    assert clerk["ratings_default"] == 0 and clerk["window_code"] == world.a.window.code
    assert staff[world.b.clerk.code]["ratings_counted"] == 0  # active staff with a window, unrated: a row of zeros


def test_staff_complaints_are_counted(world):
    _complain(world, 2)
    period = perf.Period.month(workdays.today())  # complaints are opened now
    staff = {r["staff_code"]: r for r in perf.staff_sheet(ALL_SCOPE, period)}
    assert staff[world.a.clerk.code]["complaints"] == 2
    units = {r["unit_uscc"]: r for r in perf.unit_sheet(ALL_SCOPE, period)}
    assert units[world.a.dept.uscc]["complaints"] == 2 and units[world.a.dept.uscc]["cases_opened"] == 2


def test_excel_has_both_sheets_and_the_machine_codes_row(world):
    _rate(world, ["very_satisfied", "dissatisfied"])
    period = perf.parse_period("")
    r = _client(world, "root").get(f"/analytics/performance/?period={period.code}&format=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    assert wb.sheetnames == ["单位", "人员"]
    units, staff = wb["单位"], wb["人员"]
    codes = [c.value for c in units[2]]
    assert codes == [code for code, _, _ in perf.UNIT_COLUMNS]
    assert {"unit_uscc", "period", "ratings_active", "good_rate", "fix_rate", "cases_overdue"} <= set(codes)
    assert [c.value for c in staff[2]][:3] == ["period", "staff_code", "staff_name"]
    rows = {row[1]: dict(zip(codes, row, strict=True)) for row in units.iter_rows(min_row=3, values_only=True)}
    a = rows[world.a.dept.uscc]
    assert (a["period"], a["ratings_active"], a["good_rate"], a["bad_rate"]) == (period.code, 2, 0.5, 0.5)
    assert rows[world.b.dept.uscc]["good_rate"] is None  # no denominator: an empty cell, not 0
    scodes = [c.value for c in staff[2]]
    people = {row[1]: dict(zip(scodes, row, strict=True)) for row in staff.iter_rows(min_row=3, values_only=True)}
    assert people[world.a.clerk.code]["ratings_active"] == 2


def test_csv_per_entity_with_code_header(world):
    _rate(world, ["satisfied"] * 3)
    client = _client(world, "root")
    r = client.get("/analytics/performance/?format=csv&entity=staff")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == [code for code, _, _ in perf.STAFF_COLUMNS]
    clerk = dict(zip(rows[0], next(r for r in rows if r[1] == world.a.clerk.code), strict=True))
    assert (clerk["ratings_active"], clerk["good_rate"], clerk["bad_rate"]) == ("3", "1.0", "0.0")
    units = list(csv.reader(io.StringIO(client.get("/analytics/performance/?format=csv").content.decode("utf-8-sig"))))
    assert units[0][:3] == ["period", "unit_uscc", "unit_name"]


def test_page_renders_tables_and_rejects_a_bad_period(world):
    _rate(world, ["satisfied"])
    client = _client(world, "a_admin")
    page = client.get("/analytics/performance/").content.decode()
    assert world.a.dept.name in page and world.a.clerk.name in page and "表扬候选" in page
    r = client.get("/analytics/performance/?period=2026-13")
    assert r.status_code == 400 and "统计期间" in r.content.decode()


# --- commendation candidates -----------------------------------------------------------------------------


def test_wilson_lower_bound_needs_volume():
    assert perf.wilson_lower(3, 3) < 0.6
    assert perf.wilson_lower(200, 200) > 0.98
    assert perf.wilson_lower(0, 0) is None
    assert perf.wilson_lower(95, 100) < 0.95  # a raw 95% is not a lower bound of 95%


def test_three_perfect_ratings_are_not_a_commendation(world):
    _rate(world, ["very_satisfied"] * 3)
    period = perf.parse_period("")
    scope = scope_for_user(world.users["root"])
    units, staff = perf.unit_sheet(scope, period), perf.staff_sheet(scope, period)
    rules = perf.CommendRules(min_wilson=0.95, min_unit_ratings=1, min_staff_ratings=1, max_bad_rate=0.02)
    assert perf.commendations(scope, units, staff, rules) == {"units": [], "staff": []}
    page = _client(world, "root").get("/analytics/performance/").content.decode()
    assert "本期没有符合条件的单位" in page and "本期没有符合条件的人员" in page


def test_volume_and_quality_make_a_candidate_and_get_can_change_thresholds(world):
    _rate(world, ["very_satisfied"] * 110 + ["satisfied"] * 10)
    period = perf.parse_period("")
    units, staff = perf.unit_sheet(ALL_SCOPE, period), perf.staff_sheet(ALL_SCOPE, period)
    got = perf.commendations(ALL_SCOPE, units, staff, perf.CommendRules.from_settings())
    assert [r["unit_uscc"] for r in got["units"]] == [world.a.dept.uscc]
    assert [r["staff_code"] for r in got["staff"]] == [world.a.clerk.code]
    assert got["units"][0]["wilson"] >= 0.95
    client = _client(world, "root")
    page = client.get("/analytics/performance/").content.decode()
    assert "候选" in page and world.a.clerk.name in page
    # GET overrides: a volume the unit does not reach removes it; bounds are enforced and named
    stricter = perf.commendations(
        ALL_SCOPE, units, staff, perf.CommendRules(0.95, 500, 500, 0.02)
    )  # the same as ?min_unit=500&min_staff=500
    assert stricter == {"units": [], "staff": []}
    page = client.get("/analytics/performance/?min_unit=500&min_staff=500").content.decode()
    assert "本期没有符合条件的单位" in page and "500" in page
    r = client.get("/analytics/performance/?min_wilson=120")
    assert r.status_code == 400 and "好评率置信下限" in r.content.decode()
    assert client.get("/analytics/performance/?min_unit=0").status_code == 400


def test_an_overdue_case_or_a_bad_rate_blocks_a_commendation(world):
    _rate(world, ["very_satisfied"] * 120)
    _rate(world, ["dissatisfied"], staff=False, months_back=0)  # opens a case
    Case.objects.update(due_on=workdays.today().replace(year=2020))  # overdue now
    period = perf.parse_period("")
    units, staff = perf.unit_sheet(ALL_SCOPE, period), perf.staff_sheet(ALL_SCOPE, period)
    got = perf.commendations(ALL_SCOPE, units, staff, perf.CommendRules.from_settings())
    assert got["units"] == [] and [r["staff_code"] for r in got["staff"]] == [world.a.clerk.code]
    strict = perf.CommendRules(0.5, 1, 1, 0.0)  # 差评率 must be below 0: nobody
    assert perf.commendations(ALL_SCOPE, units, staff, strict)["staff"] == []


# --- watchlist -------------------------------------------------------------------------------------------


def _this_month() -> str:
    return f"{workdays.today():%Y-%m}"


def test_repeated_bad_months_put_unit_and_staff_on_the_watchlist_with_evidence(world):
    _rate(world, ["dissatisfied"] * 3 + ["satisfied"] * 5, months_back=1)
    _rate(world, ["very_dissatisfied"] * 4 + ["satisfied"] * 2, months_back=2)
    _rate(world, ["dissatisfied"] * 2, months_back=3)  # below N in that month
    result = perf.watchlist(ALL_SCOPE, perf.parse_month(""), perf.WatchRules.from_settings())
    [unit] = [e for e in result.units if e.id == world.a.dept.id]
    assert "bad_months" in unit.reasons and unit.bad_months == 2
    assert [(m, bad, active) for m, bad, active in unit.months] == [
        (perf.add_months(workdays.today(), -3), 2, 2),
        (perf.add_months(workdays.today(), -2), 4, 6),
        (perf.add_months(workdays.today(), -1), 3, 8),
    ]
    assert unit.bad_rate == pytest.approx(9 / 16) and unit.name == world.a.dept.name
    [clerk] = result.staff
    assert clerk.id == world.a.clerk.id and clerk.code == world.a.clerk.code and "bad_months" in clerk.reasons
    # thresholds: N = 4 a month leaves one bad month only
    rules = perf.WatchRules(4, 2, 3, 3, 0.05, 50)
    assert not any("bad_months" in e.reasons for e in perf.watchlist(ALL_SCOPE, perf.parse_month(""), rules).units)
    client = _client(world, "a_admin")
    page = client.get("/analytics/watchlist/").content.decode()
    assert world.a.dept.name in page and world.a.clerk.name in page and "连续多月差评" in page
    assert "4 / 6" in page
    page = client.get("/analytics/watchlist/?n=4").content.decode()
    assert "连续多月差评" not in page


def test_complaints_put_staff_on_the_list_with_case_links_in_scope(world):
    a_cases = _complain(world, 3)
    b_cases = _complain(world, 3, county="b")
    rules = perf.WatchRules.from_settings()
    result = perf.watchlist(ALL_SCOPE, perf.parse_month(_this_month()), rules)
    staff = {e.id: e for e in result.staff}
    assert staff[world.a.clerk.id].reasons == ["complaints"] and staff[world.a.clerk.id].complaints == 3
    assert {pk for pk, _ in staff[world.a.clerk.id].cases} == {c.pk for c in a_cases}
    page = _client(world, "a_admin").get(f"/analytics/watchlist/?month={_this_month()}").content.decode()
    for c in a_cases:
        assert f'href="/cases/{c.pk}/"' in page and c.number in page
    for c in b_cases:
        assert c.number not in page and f"/cases/{c.pk}/" not in page
    assert world.b.dept.name not in page
    page = _client(world, "a_admin").get(f"/analytics/watchlist/?month={_this_month()}&c=4").content.decode()
    assert a_cases[0].number not in page  # C = 4: three complaints are not enough


def test_bad_rate_above_the_scope_average_on_volume(world):
    _rate(world, ["dissatisfied"] * 20 + ["satisfied"] * 40, months_back=1, staff=False)
    _rate(world, ["satisfied"] * 60, county="b", months_back=1, staff=False)
    rules = perf.WatchRules(bad_per_month=100, bad_months=1, window_months=1, complaints=100, rate_margin=0.05,
                            min_ratings=50)  # fmt: skip
    result = perf.watchlist(ALL_SCOPE, perf.parse_month(""), rules)
    assert [(e.id, e.reasons) for e in result.units] == [(world.a.dept.id, ["bad_rate"])]
    assert result.scope_unit_bad_rate == pytest.approx(20 / 120)
    higher_volume = perf.WatchRules(100, 1, 1, 100, 0.05, 61)
    assert perf.watchlist(ALL_SCOPE, perf.parse_month(""), higher_volume).units == []


def test_watchlist_thresholds_are_validated(world):
    client = _client(world, "root")
    r = client.get("/analytics/watchlist/?m=4&k=3")
    assert r.status_code == 400 and "差评月数" in r.content.decode()
    assert client.get("/analytics/watchlist/?k=13").status_code == 400
    assert client.get("/analytics/watchlist/?month=2026-Q1").status_code == 400
    assert client.get("/analytics/watchlist/?margin=-1").status_code == 400


# --- scope -----------------------------------------------------------------------------------------------


def test_county_b_admin_sees_none_of_county_a(world):
    _rate(world, ["dissatisfied"] * 3, months_back=1)
    _rate(world, ["dissatisfied"] * 3, months_back=2)
    _rate(world, ["satisfied"], county="b", staff=False)
    client = _client(world, "b_admin")
    for url in ("/analytics/performance/", "/analytics/watchlist/"):
        page = client.get(url).content.decode()
        assert world.b.dept.name in page or url.endswith("watchlist/")
        assert world.a.dept.name not in page and world.a.clerk.code not in page
    rows = list(csv.reader(io.StringIO(client.get("/analytics/performance/?format=csv").content.decode("utf-8-sig"))))
    assert {r[1] for r in rows[1:]} == {world.b.agency.uscc, world.b.dept.uscc}


def test_department_admin_sees_their_units_only(world):
    _rate(world, ["satisfied"])
    rows = list(
        csv.reader(
            io.StringIO(
                _client(world, "a_dept_admin").get("/analytics/performance/?format=csv").content.decode("utf-8-sig")
            )
        )
    )
    assert [r[1] for r in rows[1:]] == [world.a.dept.uscc]


@pytest.mark.parametrize("username", ["a_clerk", "a_handler", "nobody"])
@pytest.mark.parametrize("url", ["/analytics/performance/", "/analytics/watchlist/", "/analytics/coverage/"])
def test_window_staff_and_others_get_403(world, username, url):
    assert _client(world, username).get(url).status_code == 403


def test_anonymous_users_are_sent_to_log_in(world):
    r = Client().get("/analytics/performance/")
    assert r.status_code == 302 and "login" in r["Location"]


@pytest.mark.parametrize("username", ["a_inspector", "a_auditor", "city_admin"])
def test_read_only_and_city_roles_may_view(world, username):
    assert _client(world, username).get("/analytics/watchlist/").status_code == 200
