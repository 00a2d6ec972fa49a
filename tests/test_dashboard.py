"""The dashboard (analytics/dashboard.py, views_dashboard.py): scope, figures equal to a count of the ratings,
set-aside ratings, CSV export, bad parameters, the table fallback."""

from __future__ import annotations

import csv
import io
import random

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.analytics import dashboard as dash
from haochaping.cases.models import Case
from haochaping.cases.services import case_act
from haochaping.ratings.codes import Adoption
from haochaping.ratings.models import Rating
from tests.cases_helpers import evidence
from tests.test_rollups import _item, _submit

URL = "/analytics/"
DATA = "/analytics/data.json"
CSV = "/analytics/export.csv"


def _client(username: str) -> Client:
    c = Client()
    assert c.login(username=username, password="pw-" + username)
    return c


@pytest.fixture
def rated(world):
    rnd = random.Random(5)
    _submit(world, [_item(world, rnd) for _ in range(60)])
    return world


def _set_aside_one(world) -> Case:
    """Approve an appeal on one 差评: its rating is set aside (不予采纳)."""
    u = world.users
    case = Case.objects.filter(state="new", kind="bad_review").order_by("pk").first()
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    if case.real_name:
        data = {"at": timezone.now().isoformat(), "channel": "phone", "reached": "1", "rater_said": "误按"}
        case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=data)
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "误评"})
    data = {"ground": "mistaken", "reason": "误触"}
    case_act(case_id=case.pk, action="appeal", user=u["a_handler"], data=data, files=[evidence()])
    case_act(case_id=case.pk, action="approve_appeal", user=u["a_admin"], data={"note": "复核"})
    case.refresh_from_db()
    return case


def _overview(payload: dict) -> dict:
    chart = payload["charts"]["overview"]
    return dict(zip([c["key"] for c in chart["columns"]], chart["rows"][0], strict=True))


def test_figures_equal_a_direct_count_and_set_aside_ratings_are_excluded(rated, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    _set_aside_one(rated)
    r = _client("a_admin").get(DATA, {"period": "this_month"})
    assert r.status_code == 200, r.content
    payload = r.json()
    assert payload["focus"]["kind"] == "region" and payload["focus"]["id"] == rated.a.region.pk
    o = _overview(payload)
    counted = Rating.objects.exclude(adoption=Adoption.NOT_ADOPTED)
    active = counted.filter(is_default=False)
    assert o["counted"] == counted.count() == 60 - 1
    assert o["active"] == active.count()
    assert o["set_aside"] == Rating.objects.filter(adoption=Adoption.NOT_ADOPTED).count() == 1
    bad = active.filter(grade__lte=2).count()
    assert o["bad_rate"] == pytest.approx(bad / active.count())
    good = active.filter(grade__gte=4).count()
    assert o["good_rate"] == pytest.approx(good / active.count())
    assert o["bad_rate_with_default"] == pytest.approx(counted.filter(grade__lte=2).count() / counted.count())
    assert "1" in payload["charts"]["overview"]["note"]  # the set-aside count is reported
    # every chart adds up to the same total
    charts = payload["charts"]
    assert sum(row[1] for row in charts["trend"]["rows"]) == o["counted"]
    assert sum(row[3] for row in charts["grades"]["rows"]) == o["counted"]
    assert sum(row[1] for row in charts["channels"]["rows"]) == o["counted"]
    assert sum(row[1] for row in charts["units"]["rows"]) == o["counted"]
    by_channel = {row[0]: row[1] for row in charts["channels"]["rows"]}
    assert by_channel["二维码"] == counted.filter(channel="qr").count()
    assert charts["case_rates"]["rows"][0][0] == Case.objects.count()


def test_city_focus_compares_child_regions_and_drills_down(rated):
    payload = _client("city_admin").get(DATA, {"period": "this_month"}).json()
    rows = payload["charts"]["regions"]["rows"]
    assert rows[0][0] == "上城区" and rows[0][1] == 60
    assert payload["charts"]["regions"]["links"][0].endswith(f"region={rated.a.region.pk}")
    crumbs = [c["label"] for c in payload["focus"]["breadcrumb"]]
    assert crumbs == ["浙江省", "杭州市"]
    # the unit focus: staff bars, each staff member clickable
    unit = _client("city_admin").get(DATA, {"period": "this_month", "unit": rated.a.dept.pk}).json()
    assert unit["focus"]["kind"] == "unit"
    staff_rows = unit["charts"]["staff"]["rows"]
    clerk = Rating.objects.filter(staff=rated.a.clerk).count()
    assert [row[1] for row in staff_rows if row[0] == "王小明"] == [clerk]
    assert [c["label"] for c in unit["focus"]["breadcrumb"]][-2:] == ["上城区", rated.a.dept.name]


def test_county_b_admin_cannot_open_county_a(rated):
    c = _client("b_admin")
    for params in ({"region": rated.a.region.pk}, {"unit": rated.a.dept.pk}, {"staff": rated.a.clerk.pk}):
        r = c.get(DATA, params)
        assert r.status_code == 404, params
        assert r.json()["field"] in params
        assert c.get(URL, params).status_code == 404
        assert c.get(CSV, {**params, "chart": "overview"}).status_code == 404
    assert c.get(DATA, {"region": rated.province.pk}).status_code == 404  # above their county
    own = c.get(DATA, {"period": "this_month"}).json()
    assert _overview(own)["counted"] == 0


def test_window_staff_see_only_themselves(rated):
    c = _client("a_clerk")
    payload = c.get(DATA, {"period": "this_month", "region": rated.a.region.pk}).json()
    assert payload["focus"]["kind"] == "staff" and payload["focus"]["id"] == rated.a.clerk.pk
    assert set(payload["charts"]) == {"overview", "trend", "grades"}
    assert _overview(payload)["counted"] == Rating.objects.filter(staff=rated.a.clerk).count()
    assert payload["focus"]["breadcrumb"] == [{"label": "王小明", "url": None}]
    assert c.get(DATA, {"chart": "regions"}).status_code == 400
    page = c.get(URL)
    assert page.status_code == 200 and "王小明" in page.content.decode()


def test_department_admin_sees_their_unit(rated):
    c = _client("a_dept_admin")
    payload = c.get(DATA, {"period": "this_month"}).json()
    assert payload["focus"]["kind"] in ("unit", "units")
    assert _overview(payload)["counted"] == 60
    assert "regions" not in payload["charts"]
    assert c.get(DATA, {"region": rated.a.region.pk}).status_code == 404  # no region view for a department
    assert c.get(DATA, {"staff": rated.a.clerk.pk}).status_code == 200


def test_auditor_and_nobody(rated):
    assert _client("a_auditor").get(URL).status_code == 200
    assert _client("nobody").get(URL).status_code == 403
    anon = Client().get(URL)
    assert anon.status_code == 302


def test_csv_export_has_bom_chinese_header_and_the_same_numbers(rated):
    c = _client("a_admin")
    payload = c.get(DATA, {"period": "this_month"}).json()
    r = c.get(CSV, {"period": "this_month", "chart": "overview"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    body = r.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][0] == "评价数" and "差评率" in rows[0]
    o = _overview(payload)
    assert rows[1][0] == str(o["counted"])
    assert rows[1][rows[0].index("差评率")] == f"{o['bad_rate'] * 100:.1f}%"
    channels = list(csv.reader(io.StringIO(c.get(CSV, {"period": "this_month", "chart": "channels"}).content.decode())))
    assert channels[0][:2] == ["\ufeff渠道", "评价数"]
    assert sum(int(r[1]) for r in channels[1:]) == o["counted"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-13-01", "end": "2026-12-31"}, "start"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, "end"),
        ({"start": "2026-02-01"}, "end"),
        ({"period": "forever"}, "period"),
        ({"chart": "nonsense"}, "chart"),
        ({"unit": "abc"}, "unit"),
    ],
)
def test_bad_params_are_400_naming_the_field(world, params, field):
    c = _client("a_admin")
    r = c.get(DATA, params)
    assert r.status_code == 400 and r.json()["field"] == field
    if "chart" not in params:
        page = c.get(URL, params)
        assert page.status_code == 400 and f'data-field="{field}"' in page.content.decode()
    assert c.get(CSV, {"chart": "overview", **params} if "chart" not in params else params).status_code == 400
    assert c.get(CSV).json()["field"] == "chart"


def test_page_renders_the_table_fallback_and_no_external_requests(rated):
    html = _client("city_admin").get(URL, {"period": "this_month"}).content.decode()
    assert "查看表格" in html and "导出CSV" in html
    assert "<table>" in html and "上城区" in html
    assert "echarts-5.6.0.min.js" in html
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html
    assert f"/analytics/export.csv?period=this_month&amp;region={rated.city.pk}&amp;chart=overview" in html


def test_periods(world):
    from datetime import date

    today = date(2026, 5, 17)
    assert dash.quick_period("last_12", today) == dash.Period(date(2025, 6, 1), date(2026, 5, 31), "last_12")
    assert dash.quick_period("last_month", today).start == date(2026, 4, 1)
    assert dash.quick_period("this_quarter", today) == dash.Period(date(2026, 4, 1), date(2026, 6, 30), "this_quarter")
    short = dash.parse_period({"start": "2026-05-01", "end": "2026-05-17"}, today)
    assert short.days == 17


def test_short_periods_trend_by_day_and_no_rating_scan(rated, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today = timezone.localdate()
    params = {"start": today.replace(day=1).isoformat(), "end": today.isoformat()}
    with CaptureQueriesContext(connection) as ctx:
        payload = _client("city_admin").get(DATA, params).json()
    assert payload["charts"]["trend"]["columns"][0]["label"] == "日期"
    assert len(payload["charts"]["trend"]["rows"]) == today.day
    assert _overview(payload)["counted"] == 60
    rating_table = Rating._meta.db_table
    scans = [q["sql"] for q in ctx.captured_queries if f'FROM "{rating_table}"' in q["sql"]]
    assert scans == []
