"""Periodic reports (定期报告): building, files, lifecycle, integrity, permissions, the schedule and the command."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from haochaping.analytics import reports as service
from haochaping.analytics.models import Report
from haochaping.lib.errors import Conflict, ValidationFailed
from tests.test_analytics_selectors import _world_ratings


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def login(world, username: str) -> Client:
    c = Client()
    assert c.login(username=username, password="pw-" + username)
    return c


def last_month() -> date:
    return service.last_complete_period("monthly", timezone.localdate())[0]


def generate(client: Client, **data):
    payload = {"kind": "monthly", "period": f"{last_month():%Y-%m}", **data}
    return client.post(reverse("analytics:reports"), payload)


@pytest.fixture
def rated(world):
    _world_ratings(world)
    return world


def a_report(world, user="a_admin") -> Report:
    return service.report_generate("monthly", last_month(), region=world.a.region, user=world.users[user]).report


# --- periods -----------------------------------------------------------------------------------------------


def test_periods_parse_and_bad_input_names_the_field():
    assert service.parse_period("monthly", "2026-10") == (date(2026, 10, 1), date(2026, 10, 31))
    assert service.parse_period("quarterly", "2026-q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert service.parse_period("quarterly", "2026-07") == (date(2026, 7, 1), date(2026, 9, 30))
    assert service.parse_period("annual", "2026") == (date(2026, 1, 1), date(2026, 12, 31))
    for kind, text in (("monthly", "2026-13"), ("quarterly", "2026-08"), ("annual", "2026-01"), ("monthly", "")):
        with pytest.raises(ValidationFailed) as exc:
            service.parse_period(kind, text)
        assert exc.value.field == "period"
    assert service.last_complete_period("monthly", date(2026, 1, 1)) == (date(2025, 12, 1), date(2025, 12, 31))
    assert service.last_complete_period("quarterly", date(2026, 5, 20)) == (date(2026, 1, 1), date(2026, 3, 31))
    assert service.last_complete_period("annual", date(2026, 1, 1)) == (date(2025, 1, 1), date(2025, 12, 31))


# --- generating ----------------------------------------------------------------------------------------------


def test_generate_makes_a_draft_with_a_workbook_with_charts_and_a_pdf_with_the_cjk_font(rated):
    world = rated
    response = generate(login(world, "a_admin"), region=world.a.region.pk)
    assert response.status_code == 302, response.content.decode()
    report = Report.objects.get()
    assert (report.state, report.version, report.region, report.unit) == ("draft", 1, world.a.region, None)
    assert report.generated_by == "a_admin" and report.created_by == world.users["a_admin"]
    assert report.xlsx.storage.exists(report.xlsx.name) and report.pdf.storage.exists(report.pdf.name)
    assert len(report.xlsx_sha256) == len(report.pdf_sha256) == 64
    assert "差评率" in report.summary and "不予采纳" in report.summary

    from openpyxl import load_workbook

    with report.xlsx.open("rb") as f:
        wb = load_workbook(io.BytesIO(f.read()))
    assert {"摘要", "概况", "下级区划", "单位", "趋势", "渠道", "闭环指标"} <= set(wb.sheetnames)
    assert sum(len(ws._charts) for ws in wb.worksheets) >= 2
    assert wb["概况"]["A1"].value == "指标" and wb["单位"].max_row >= 2  # a header and the county's unit

    pdf = report.pdf.open("rb").read()
    assert pdf.startswith(b"%PDF") and b"/Type /Page" in pdf
    assert b"WenQuanYi" in pdf  # the CJK font is embedded (scripts/test installs fonts-wqy-zenhei)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
        assert "主要变化" in text.decode()


def test_regenerating_replaces_the_draft_but_versions_a_published_report(rated, django_capture_on_commit_callbacks):
    world = rated
    first = a_report(world)
    old_pdf = first.pdf.name
    with django_capture_on_commit_callbacks(execute=True):  # the replaced files are deleted once committed
        again = service.report_generate("monthly", last_month(), region=world.a.region, user=world.users["a_admin"])
    assert again.replaced and again.report.pk == first.pk and again.report.version == 1
    assert not first.pdf.storage.exists(old_pdf)  # the replaced draft's files are gone
    service.report_transition(first.pk, "submit", world.users["a_admin"])
    with pytest.raises(Conflict):  # a submitted report is withdrawn first
        service.report_generate("monthly", last_month(), region=world.a.region)
    service.report_transition(first.pk, "publish", world.users["a_admin"])
    published = Report.objects.get(pk=first.pk)
    v2 = service.report_generate("monthly", last_month(), region=world.a.region).report
    assert v2.pk != first.pk and v2.version == 2 and v2.state == "draft"
    assert Report.objects.get(pk=first.pk).pdf_sha256 == published.pdf_sha256  # untouched
    assert service.file_intact(published, "pdf") and service.file_intact(published, "xlsx")


def test_a_unit_report_has_windows_staff_and_items(rated):
    world = rated
    response = generate(login(world, "a_dept_admin"), unit=world.a.dept.pk)
    assert response.status_code == 302, response.content.decode()
    report = Report.objects.get()
    assert report.scope_kind == "unit" and report.unit == world.a.dept and report.region == world.a.region
    from openpyxl import load_workbook

    wb = load_workbook(report.xlsx.path)
    assert {"窗口", "人员", "事项"} <= set(wb.sheetnames)


def test_the_form_names_the_bad_field(rated):
    world = rated
    c = login(world, "a_admin")
    r = generate(c, region=world.a.region.pk, period="2026-13")
    assert r.status_code == 400 and "报告期间格式不对" in r.content.decode()
    r = generate(c, region=world.b.region.pk)  # outside county A
    assert r.status_code == 400 and "区划不存在或不在您的数据范围内" in r.content.decode()
    r = generate(c)
    assert r.status_code == 400 and "二选一" in r.content.decode()
    dept = login(world, "a_dept_admin")
    r = generate(dept, unit=world.b.dept.pk)
    assert r.status_code == 400 and "单位不存在或不在您的数据范围内" in r.content.decode()
    r = generate(login(world, "a_inspector"), region=world.a.region.pk)
    assert r.status_code == 403
    assert not Report.objects.exists()


# --- lifecycle and integrity ---------------------------------------------------------------------------------


def test_submit_then_publish_stores_the_hash_and_publishing_twice_is_409(rated):
    world = rated
    report = a_report(world)
    c = login(world, "a_admin")
    url = reverse("analytics:report_detail", args=[report.pk])
    assert c.post(url, {"action": "publish"}).status_code == 409  # a draft is submitted first
    assert c.post(url, {"action": "submit"}).status_code == 302
    report.refresh_from_db()
    assert report.state == "submitted" and report.submitted_by == world.users["a_admin"]
    assert c.post(url, {"action": "publish"}).status_code == 302
    report.refresh_from_db()
    assert report.state == "published" and report.published_by == world.users["a_admin"]
    assert report.pdf_sha256 == service.sha256_of(report.pdf)
    page = c.get(url).content.decode()
    assert report.pdf_sha256 in page and report.xlsx_sha256 in page
    again = c.post(url, {"action": "publish"})
    assert again.status_code == 409 and "已发布" in again.content.decode()
    assert c.post(url, {"action": "nonsense"}).status_code == 400


def test_a_tampered_published_file_is_refused_on_download(rated):
    world = rated
    report = a_report(world)
    service.report_transition(report.pk, "submit", world.users["a_admin"])
    service.report_transition(report.pk, "publish", world.users["a_admin"])
    c = login(world, "a_admin")
    ok = c.get(reverse("analytics:report_file", args=[report.pk, "pdf"]))
    assert ok.status_code == 200 and b"".join(ok.streaming_content).startswith(b"%PDF")
    assert "attachment" in ok["Content-Disposition"]
    with open(report.pdf.path, "ab") as f:
        f.write(b"% tampered\n")
    bad = c.get(reverse("analytics:report_file", args=[report.pk, "pdf"]))
    assert bad.status_code == 409 and report.pdf_sha256 in bad.content.decode()
    assert c.get(reverse("analytics:report_file", args=[report.pk, "xlsx"])).status_code == 200
    assert c.get(reverse("analytics:report_file", args=[report.pk, "doc"])).status_code == 404


def test_a_file_changed_before_publishing_blocks_publishing(rated):
    world = rated
    report = a_report(world)
    service.report_transition(report.pk, "submit", world.users["a_admin"])
    with open(report.xlsx.path, "ab") as f:
        f.write(b"x")
    with pytest.raises(Conflict):
        service.report_transition(report.pk, "publish", world.users["a_admin"])
    assert Report.objects.get(pk=report.pk).state == "submitted"


# --- who sees and does what ---------------------------------------------------------------------------------


def test_county_b_cannot_see_county_a_reports(rated):
    world = rated
    report = a_report(world)
    b = login(world, "b_admin")
    assert report.pk not in [r.pk for r in b.get(reverse("analytics:reports")).context["reports"]]
    assert b.get(reverse("analytics:report_detail", args=[report.pk])).status_code == 404
    assert b.get(reverse("analytics:report_file", args=[report.pk, "pdf"])).status_code == 404
    assert b.post(reverse("analytics:report_detail", args=[report.pk]), {"action": "submit"}).status_code == 404
    city = login(world, "city_admin")  # the city sees its counties' reports
    assert city.get(reverse("analytics:report_detail", args=[report.pk])).status_code == 200


@pytest.mark.parametrize("username", ["a_clerk", "a_handler", "nobody"])
def test_window_staff_and_others_get_403(rated, username):
    world = rated
    report = a_report(world)
    c = login(world, username)
    assert c.get(reverse("analytics:reports")).status_code == 403
    assert c.get(reverse("analytics:report_detail", args=[report.pk])).status_code == 403
    assert c.get(reverse("analytics:report_file", args=[report.pk, "pdf"])).status_code == 403
    assert generate(c, region=world.a.region.pk).status_code == 403


def test_inspectors_and_auditors_read_only(rated):
    world = rated
    report = a_report(world)
    for username in ("a_inspector", "a_auditor"):
        c = login(world, username)
        listing = c.get(reverse("analytics:reports"))
        assert listing.status_code == 200 and listing.context["form"] is None
        page = c.get(reverse("analytics:report_detail", args=[report.pk]))
        assert page.status_code == 200 and page.context["actions"] == []
        assert c.post(reverse("analytics:report_detail", args=[report.pk]), {"action": "submit"}).status_code == 403
        assert c.get(reverse("analytics:report_file", args=[report.pk, "xlsx"])).status_code == 200


def test_only_the_regions_own_agency_or_a_system_admin_publishes(rated):
    world = rated
    report = a_report(world, user="city_admin")  # the city may generate and submit a county's report …
    url = reverse("analytics:report_detail", args=[report.pk])
    city = login(world, "city_admin")
    assert city.post(url, {"action": "submit"}).status_code == 302
    assert city.post(url, {"action": "publish"}).status_code == 403  # … but not publish it
    dept_unit = service.report_generate("monthly", last_month(), unit=world.a.dept).report
    d = login(world, "a_dept_admin")
    assert d.get(reverse("analytics:report_detail", args=[report.pk])).status_code == 404  # a region report
    unit_url = reverse("analytics:report_detail", args=[dept_unit.pk])
    assert d.post(unit_url, {"action": "submit"}).status_code == 302
    assert d.post(unit_url, {"action": "publish"}).status_code == 403
    assert login(world, "a_admin").post(unit_url, {"action": "publish"}).status_code == 302
    assert login(world, "root").post(url, {"action": "publish"}).status_code == 302
    assert Report.objects.get(pk=report.pk).state == Report.objects.get(pk=dept_unit.pk).state == "published"


def test_withdraw_returns_a_submitted_report_to_draft(rated):
    world = rated
    report = a_report(world)
    service.report_transition(report.pk, "submit", world.users["a_admin"])
    service.report_transition(report.pk, "withdraw", world.users["a_admin"])
    report.refresh_from_db()
    assert report.state == "draft" and report.submitted_at is None
    with pytest.raises(Conflict):
        service.report_transition(report.pk, "withdraw", world.users["a_admin"])


# --- the schedule and the command -----------------------------------------------------------------------------


def test_the_monthly_task_drafts_last_month_for_every_region_with_an_agency(rated):
    from huey.contrib.djhuey import HUEY

    from haochaping.analytics.tasks import monthly_reports

    world = rated
    assert HUEY.immediate
    monthly_reports()
    drafts = Report.objects.filter(kind="monthly", period_start=last_month())
    assert {r.region for r in drafts} == {world.city, world.a.region, world.b.region}
    assert all(r.state == "draft" and r.generated_by == "schedule" and r.created_by is None for r in drafts)
    published = drafts.get(region=world.a.region)
    service.report_transition(published.pk, "submit", world.users["a_admin"])
    service.report_transition(published.pk, "publish", world.users["a_admin"])
    monthly_reports()  # a rerun replaces the drafts and leaves the published report alone
    assert Report.objects.count() == 3
    assert Report.objects.get(pk=published.pk).state == "published"


def test_the_report_command_prints_the_paths_and_the_time(rated):
    world = rated
    out = StringIO()
    call_command(
        "report", "--kind", "monthly", "--region", world.a.region.code, "--period", f"{last_month():%Y-%m}", stdout=out
    )
    report = Report.objects.get()
    text = out.getvalue()
    assert report.xlsx.path in text and report.pdf.path in text and "用时 / time" in text
    assert report.generated_by == "command"
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--region"):
        call_command("report", "--region", "999999999999", "--period", "2026-10")
    with pytest.raises(CommandError, match="报告期间"):
        call_command("report", "--region", world.a.region.code, "--period", "2026-13")
