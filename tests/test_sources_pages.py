"""The evaluation sources in the analytics pages: the dashboard's section, the report tables (xlsx + PDF), the
performance sheet's source columns and composite score, and the weights page (validation, permissions, audit)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from haochaping.accounts.scope import ALL_SCOPE, scope_for_user
from haochaping.analytics import performance as perf
from haochaping.analytics import reports as service
from haochaping.analytics import sources
from haochaping.analytics.metrics import Counts
from haochaping.analytics.models import PerformanceWeights
from haochaping.analytics.selectors import counts_by, slice_for_scope
from haochaping.audit.models import AdminAction
from tests.test_performance_inputs import _rate
from tests.test_sources import seed_sources

WEIGHTS = "/analytics/performance/weights/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def login(username: str) -> Client:
    c = Client()
    assert c.login(username=username, password="pw-" + username)
    return c


def last_month() -> date:
    return service.last_complete_period("monthly", timezone.localdate())[0]


@pytest.fixture
def seeded(world):
    seed_sources(world, last_month())
    _rate(world, ["very_satisfied"] * 6 + ["dissatisfied"] * 2, months_back=1)  # county A's dept, last month
    return world


# --- dashboard -----------------------------------------------------------------------------------------------


def test_the_dashboard_shows_the_sources_apart_with_links_and_units_side_by_side(seeded):
    page = login("a_admin").get("/analytics/", {"period": "last_month"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "监督查评与社会评价（与好差评分开统计）" in html
    section = html[html.index('id="sources"') :]
    for link in ('href="/inspections/"', 'href="/surveys/"', "kind=suggestion", 'href="/assessments/"'):
        assert link in section
    assert "80.0" in section  # county A's two inspections: 90 and 70
    assert "75.0%" in section  # survey response rate: 3 of 4 invitations answered
    assert seeded.a.dept.name in section and seeded.b.dept.name not in section  # county A's scope only
    board = page.context["sources"]
    assert board["cards"][0]["kpis"][1]["text"] == "2"


def test_the_dashboard_section_without_data_and_not_for_window_staff(world):
    html = login("a_admin").get("/analytics/").content.decode()
    assert "监督查评与社会评价" in html and "本期没有好差评以外的评价来源数据" in html
    clerk = login("a_clerk").get("/analytics/")
    assert clerk.status_code == 200 and "监督查评与社会评价" not in clerk.content.decode()


def test_the_sources_cost_the_dashboard_a_few_queries(seeded, django_assert_max_num_queries):
    from haochaping.analytics import dashboard as dash

    board = dash.build(ALL_SCOPE, {"period": "last_month"})
    board.charts()
    with django_assert_max_num_queries(12):
        section = board.sources_section()
    assert len(section["body"]) == 2


def test_a_region_focus_compares_its_child_regions(seeded):
    world = seeded
    page = login("root").get("/analytics/", {"period": "last_month", "region": world.city.pk})
    section = page.context["sources"]
    rows = {r[0]["text"]: [c["text"] for c in r[1:]] for r in section["region_body"]}
    assert rows[world.a.region.name][2:4] == ["80.0", "2"] and rows[world.b.region.name][2:4] == ["80.0", "1"]
    assert "各下级地区对照" in page.content.decode()


# --- reports -------------------------------------------------------------------------------------------------


def _workbook(report) -> object:
    with report.xlsx.open("rb") as f:
        return load_workbook(io.BytesIO(f.read()))


def _rows(ws) -> dict[str, list]:
    header = [c.value for c in ws[1]]
    return {row[0]: dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2, values_only=True) if row[0]}


def test_the_monthly_report_shows_ratings_inspections_and_surveys_side_by_side(seeded):
    world = seeded
    report = service.report_generate("monthly", last_month(), region=world.city, user=world.users["root"]).report
    wb = _workbook(report)
    assert {"评价来源概况", "评价来源对照", "来源对照（区划）"} <= set(wb.sheetnames)
    units = _rows(wb["评价来源对照"])
    a, b = units[world.a.dept.name], units[world.b.dept.name]
    assert (a["有效评价"], a["检查次数"], a["检查得分"], a["不合格项"]) == (8, 2, 80.0, 3)
    assert (a["调查答卷"], a["第三方评估得分"], a["意见建议"]) == (4, 88.0, 2)
    assert a["满意度指数"] is not None and a["差评率"] == pytest.approx(0.25)
    assert (b["有效评价"], b["检查得分"], b["调查得分"], b["满意度指数"]) == (0, 80.0, 60.0, None)
    regions = _rows(wb["来源对照（区划）"])
    assert regions[world.a.region.name]["检查次数"] == 2 and regions[world.b.region.name]["检查次数"] == 1
    overview = {(r[0], r[1]): (r[2], r[3]) for r in wb["评价来源概况"].iter_rows(min_row=2, values_only=True) if r[1]}
    assert overview[("监督查评", "检查次数")] == (3, 1)  # the month before had one inspection
    assert overview[("服务调查", "回收率")] == (0.5, 1.0)
    assert overview[("第三方评估", "评估机构")][0] == "第三方A"
    assert "监督查评：本期完成检查 3 次" in report.summary and "服务调查：本期发放邀请 8 份" in report.summary
    pdf = report.pdf.open("rb").read()
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
        assert "评价来源对照" in text and "监督查评" in text


def test_a_unit_report_and_a_long_table_in_the_pdf(seeded, monkeypatch):
    world = seeded
    monkeypatch.setattr(service, "PDF_ROWS_MAX", 1)
    data = service.build_report("monthly", last_month(), unit=world.a.dept)
    names = [t.sheet for t in data.tables]
    assert "评价来源对照" in names and "来源对照（区划）" not in names
    table = next(t for t in data.tables if t.sheet == "评价来源对照")
    assert [r[0] for r in table.rows] == [world.a.dept.name]
    assert service.write_pdf(data).startswith(b"%PDF")
    empty = service.build_report("monthly", date(2001, 1, 1), region=world.city)
    assert any("监督查评：本期无已提交的检查" in line for line in empty.summary)
    assert service.write_pdf(empty).startswith(b"%PDF") and service.write_xlsx(empty)


# --- performance sheet ---------------------------------------------------------------------------------------


def _ratings_score(world, period) -> float:
    answer = counts_by(slice_for_scope(ALL_SCOPE, period.start, period.end), "unit")
    return answer.rows.get(world.a.dept.pk, Counts()).score()


def test_the_sheet_has_the_sources_and_a_composite_with_default_weights(seeded):
    world = seeded
    period = perf.Period.month(last_month())
    rows = {r["id"]: r for r in perf.unit_sheet(ALL_SCOPE, period)}
    a, b, agency = rows[world.a.dept.pk], rows[world.b.dept.pk], rows[world.a.agency.pk]
    r = _ratings_score(world, period)
    assert (a["inspection_score"], a["inspections"], a["survey_responses"], a["suggestions"]) == (80.0, 2, 4, 2)
    assert a["composite_score"] == pytest.approx((r * 60 + 80 * 20 + a["survey_score"] * 10 + 88 * 10) / 100, abs=0.01)
    assert a["sources_missing"] == "" and "默认" in a["weights_used"]
    assert b["composite_score"] == pytest.approx((80 * 20 + 60 * 10 + 76 * 10) / 40)  # no ratings: left out
    assert b["sources_missing"] == "好差评"
    assert agency["composite_score"] is None and agency["sources_missing"].count("、") == 3


def test_custom_weights_of_the_nearest_region_apply(seeded):
    world = seeded
    PerformanceWeights.objects.create(region=world.city, ratings=50, inspections=50, surveys=0, assessments=0)
    PerformanceWeights.objects.create(region=world.b.region, ratings=0, inspections=0, surveys=0, assessments=100)
    period = perf.Period.month(last_month())
    rows = {r["id"]: r for r in perf.unit_sheet(ALL_SCOPE, period)}
    a, b = rows[world.a.dept.pk], rows[world.b.dept.pk]
    assert a["composite_score"] == pytest.approx((_ratings_score(world, period) + 80) / 2, abs=0.01)
    assert "杭州市" in a["weights_used"] and "好差评50" in a["weights_used"]
    assert b["composite_score"] == 76.0 and "拱墅区" in b["weights_used"]


def test_the_exports_and_the_page_carry_the_new_columns(seeded):
    client = login("a_admin")
    code = perf.Period.month(last_month()).code
    text = client.get("/analytics/performance/", {"period": code, "format": "csv", "entity": "unit"}).content
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
    header = rows[0].keys()
    for col in ("inspection_score", "inspections", "survey_score", "survey_responses", "assessment_score"):
        assert col in header
    assert {"suggestions", "composite_score", "weights_used", "sources_missing"} <= set(header)
    dept = next(r for r in rows if r["unit_name"] == seeded.a.dept.name)
    assert dept["inspection_score"] == "80.0" and dept["composite_score"]
    xlsx = client.get("/analytics/performance/", {"period": code, "format": "xlsx"})
    wb = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    assert "composite_score" in [c.value for c in wb["单位"][2]]
    page = client.get("/analytics/performance/", {"period": code})
    assert page.status_code == 200 and "综合得分" in page.content.decode() and WEIGHTS in page.content.decode()


# --- the weights page ----------------------------------------------------------------------------------------


def test_supervisors_read_the_weights_only_the_agency_or_system_admin_sets_them(world):
    for username in ("a_admin", "a_inspector", "a_auditor", "a_dept_admin", "root"):
        page = login(username).get(WEIGHTS)
        assert page.status_code == 200, username
        assert ("设置本区划权重" in page.content.decode()) == (username in ("a_admin", "root")), username
    for username in ("a_clerk", "a_handler", "nobody"):
        assert login(username).get(WEIGHTS).status_code == 403
    data = {"ratings": 70, "inspections": 10, "surveys": 10, "assessments": 10}
    for username in ("a_inspector", "a_auditor", "a_dept_admin"):
        assert login(username).post(WEIGHTS, data).status_code == 403
    assert not PerformanceWeights.objects.exists()
    # County A's admin: its own region only; the city is out of sight (404), and the city's admin may not set
    # the county's (403).
    assert login("a_admin").post(WEIGHTS, {**data, "region": world.city.pk}).status_code == 404
    assert login("city_admin").post(WEIGHTS, {**data, "region": world.a.region.pk}).status_code == 403
    assert login("city_admin").post(WEIGHTS, {**data, "region": world.city.pk}).status_code == 302
    assert login("root").post(WEIGHTS, {**data, "region": world.b.region.pk}).status_code == 302
    assert set(PerformanceWeights.objects.values_list("region_id", flat=True)) == {world.city.pk, world.b.region.pk}


def test_setting_weights_is_logged_and_they_apply_down_the_hierarchy(world):
    client = login("a_admin")
    response = client.post(WEIGHTS, {"ratings": 40, "inspections": 30, "surveys": 20, "assessments": 10})
    assert response.status_code == 302
    row = PerformanceWeights.objects.get(region=world.a.region)
    assert (row.ratings, row.inspections, row.updated_by) == (40, 30, world.users["a_admin"])
    log = AdminAction.objects.get(model="performanceweights")
    assert log.actor == world.users["a_admin"] and log.changes["ratings"] == [None, 40]
    assert log.region_path == world.a.region.path
    assert sources.weights_for(world.a.region).ratings == 40 and sources.weights_for(world.b.region).ratings == 60
    page = client.get(WEIGHTS).content.decode()
    assert "本区划设置了自己的权重" in page
    assert client.post(WEIGHTS, {"action": "reset"}).status_code == 302
    assert not PerformanceWeights.objects.exists() and AdminAction.objects.filter(action="delete").count() == 1
    assert "使用默认权重" in client.get(WEIGHTS).content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ratings": 0, "inspections": 0, "surveys": 0, "assessments": 0}, "好差评权重"),
        ({"ratings": 101, "inspections": 0, "surveys": 0, "assessments": 0}, "好差评权重"),
        ({"ratings": 60, "inspections": -1, "surveys": 0, "assessments": 0}, "监督查评权重"),
        ({"ratings": 60, "inspections": 20, "surveys": "abc", "assessments": 0}, "服务调查权重"),
        ({"ratings": 60, "inspections": 20, "surveys": 10}, "第三方评估权重"),
    ],
)
def test_bad_weights_are_a_form_error_naming_the_field(world, data, field):
    response = login("a_admin").post(WEIGHTS, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f"{field}：" in html
    assert not PerformanceWeights.objects.exists()


def test_the_weights_service_validates_on_its_own(world):
    from haochaping.analytics import weights as wt
    from haochaping.lib.errors import PermissionDenied, ValidationFailed

    admin = scope_for_user(world.users["a_admin"])
    with pytest.raises(ValidationFailed) as exc:
        wt.weights_set(admin, world.a.region, {"ratings": "x"}, world.users["a_admin"])
    assert exc.value.field == "ratings"
    with pytest.raises(PermissionDenied):
        wt.weights_set(scope_for_user(world.users["a_auditor"]), world.a.region, {}, world.users["a_auditor"])
