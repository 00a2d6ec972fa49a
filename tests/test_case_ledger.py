"""整改台账 export: layout, one row per case, real dates, no personal data, scoping and filters."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases import ledger, workdays
from haochaping.cases.models import Case
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.cases.services import case_act
from tests.cases_helpers import evidence, open_bad_review

pytestmark = pytest.mark.django_db
HEADERS = [name for name, _ in ledger.COLUMNS]


def login(world, name: str) -> Client:
    client = Client()
    assert client.login(username=name, password="pw-" + name)
    return client


def workbook(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    wb = load_workbook(BytesIO(b"".join(response.streaming_content)))
    return list(wb.active.iter_rows(values_only=True))


def column(rows, header: str) -> list:
    i = HEADERS.index(header)
    return [r[i] for r in rows[2:]]


def complaint_b(world) -> Case:
    return complaint_open(
        ComplaintIn(content="窗口推诿", contact_phone="13900139000", contact_name="李四", unit_id=world.b.dept.pk),
        scope=ALL_SCOPE,
    )


def in_ledger(world, settings, tmp_path) -> Case:
    settings.MEDIA_ROOT = tmp_path
    u = world.users
    case = open_bad_review(world, rater_name="张三")
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    case_act(
        case_id=case.pk,
        action="callback",
        user=u["a_handler"],
        data={"at": timezone.now(), "channel": "phone", "reached": True, "rater_said": "等太久"},
    )
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "高峰期窗口不足"})
    deadline = workdays.add_workdays(timezone.now(), 3)
    case_act(
        case_id=case.pk,
        action="open_ledger",
        user=u["a_handler"],
        data={"measures": "增开窗口", "deadline": deadline.isoformat()},
    )
    return case_act(
        case_id=case.pk, action="complete", user=u["a_handler"], data={"measures": "已增开2个窗口"}, files=[evidence()]
    )


def test_ledger_layout_and_rows(world, settings, tmp_path):
    done = in_ledger(world, settings, tmp_path)
    Case.objects.filter(pk=done.pk).update(staff=world.a.clerk)  # the rated clerk (经办人), when known
    new = open_bad_review(world)
    rows = workbook(login(world, "a_admin").get("/cases/ledger.xlsx"))
    assert "上城区" in rows[0][0] and "整改台账" in rows[0][0]
    assert list(rows[1]) == HEADERS
    assert len(rows) == 2 + 2  # title, header, one row per case
    assert column(rows, "序号") == [1, 2]
    assert column(rows, "工单编号") == [done.number, new.number]
    assert column(rows, "类型") == ["差评", "差评"]
    assert column(rows, "处理方式") == ["限期整改", None]
    assert column(rows, "是否按期") == ["是", None]
    assert column(rows, "整改措施")[0] == "已增开2个窗口"
    assert column(rows, "核实情况")[0] == "高峰期窗口不足"
    assert column(rows, "状态") == ["已反馈待评价", "待分派"]
    assert column(rows, "是否重办") == ["否", "否"]
    assert column(rows, "窗口")[0].startswith("上城区政务服务中心 01号窗口")
    assert column(rows, "经办人") == ["王小明", None]
    assert column(rows, "处理人") == ["a_handler", None]
    assert isinstance(column(rows, "评价时间/投诉时间")[0], datetime)
    assert isinstance(column(rows, "整改完成时间")[0], datetime)
    assert isinstance(column(rows, "整改期限")[0], datetime)  # Excel has no date type: a midnight datetime
    assert column(rows, "整改期限")[0].date() == done.rectify_deadline
    assert column(rows, "办结时间") == [None, None]


def test_ledger_never_holds_contact_details(world, settings, tmp_path):
    in_ledger(world, settings, tmp_path)
    complaint_b(world)
    rows = workbook(login(world, "city_admin").get("/cases/ledger.xlsx"))
    text = "\n".join(str(v) for row in rows for v in row if v is not None)
    for secret in ("13800138000", "13900139000", "张三", "李四"):
        assert secret not in text
    assert len(rows) == 4


def test_ledger_is_scoped(world):
    a_case = open_bad_review(world)
    b_case = complaint_b(world)
    rows = workbook(login(world, "b_admin").get("/cases/ledger.xlsx"))
    assert column(rows, "工单编号") == [b_case.number]
    assert column(rows, "类型") == ["投诉"]
    rows = workbook(login(world, "a_dept_admin").get("/cases/ledger.xlsx"))
    assert column(rows, "工单编号") == [a_case.number]
    assert column(rows, "责任单位") == ["上城区市场监督管理局"]
    assert "上城区市场监督管理局" in rows[0][0]


def test_ledger_filters(world):
    a_case = open_bad_review(world)
    complaint_b(world)
    client = login(world, "city_admin")
    rows = workbook(client.get(f"/cases/ledger.xlsx?unit={world.a.dept.pk}"))
    assert column(rows, "工单编号") == [a_case.number]
    assert "上城区市场监督管理局" in rows[0][0]
    assert len(workbook(client.get("/cases/ledger.xlsx?state=closed"))) == 2  # title and header only
    Case.objects.filter(pk=a_case.pk).update(opened_at=timezone.now() - timedelta(days=800))
    assert len(workbook(client.get("/cases/ledger.xlsx"))) == 3  # this year by default
    start = (date.today() - timedelta(days=900)).isoformat()
    assert len(workbook(client.get(f"/cases/ledger.xlsx?start={start}"))) == 4


@pytest.mark.parametrize("query", ["unit=999999", "start=yesterday", "start=2026-05-02&end=2026-05-01"])
def test_ledger_bad_filter_is_400(world, query):
    response = login(world, "a_admin").get("/cases/ledger.xlsx?" + query)
    assert response.status_code == 400
    assert "筛选条件有误" in response.content.decode()


def test_ledger_out_of_scope_unit_is_refused(world):
    response = login(world, "a_dept_admin").get(f"/cases/ledger.xlsx?unit={world.b.dept.pk}")
    assert response.status_code == 400 and "数据范围" in response.content.decode()


def test_write_ledger_counts_rows_and_is_late_aware(world, settings, tmp_path):
    case = in_ledger(world, settings, tmp_path)
    out = BytesIO()
    assert ledger.write_ledger(Case.objects.all(), out, title="t") == 1
    later = case.deadline + timedelta(days=30)
    Case.objects.filter(pk=case.pk).update(rectified_at=None)
    [row] = list(ledger.ledger_rows(Case.objects.all(), today=later))
    assert row[HEADERS.index("是否按期")] == "否（逾期未完成）"
