"""The supervision board and the figures page: who may see them, scoping, buckets, filters, JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases.models import Case
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.cases.services import case_act
from tests.cases_helpers import evidence, open_bad_review

pytestmark = pytest.mark.django_db


def login(world, name: str) -> Client:
    client = Client()
    assert client.login(username=name, password="pw-" + name)
    return client


def complaint_b(world) -> Case:
    return complaint_open(
        ComplaintIn(content="窗口推诿", contact_phone="13900139000", unit_id=world.b.dept.pk), scope=ALL_SCOPE
    )


def appealing(world, settings, tmp_path) -> Case:
    settings.MEDIA_ROOT = tmp_path
    u = world.users
    case = open_bad_review(world, phone=None)
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "评价人误按"})
    return case_act(
        case_id=case.pk,
        action="appeal",
        user=u["a_handler"],
        data={"ground": "mistaken", "reason": "监控显示误触"},
        files=[evidence()],
    )


@pytest.mark.parametrize("url", ["/cases/board/", "/cases/metrics/", "/cases/ledger.xlsx"])
def test_anonymous_is_sent_to_login(world, url):
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("name", ["nobody", "a_handler", "a_clerk"])
@pytest.mark.parametrize("url", ["/cases/board/", "/cases/metrics/", "/cases/ledger.xlsx"])
def test_users_without_rights_get_403(world, name, url):
    response = login(world, name).get(url)
    assert response.status_code == 403
    assert "无权限" in response.content.decode()


def test_metrics_json_403(world):
    response = login(world, "a_handler").get("/cases/metrics/?format=json")
    assert response.status_code == 403 and response.json()["message"]


@pytest.mark.parametrize("name", ["root", "city_admin", "a_admin", "a_inspector", "a_auditor", "a_dept_admin"])
def test_board_open_to_agency_and_department_admins(world, name):
    open_bad_review(world)
    response = login(world, name).get("/cases/board/")
    assert response.status_code == 200
    board = response.context["board"]
    assert board["totals"]["total"] == 1
    assert [u["name"] for u in board["units"]] == ["上城区市场监督管理局"]


def test_board_is_scoped(world, settings, tmp_path):
    case = appealing(world, settings, tmp_path)
    complaint_b(world)
    b = login(world, "b_admin").get("/cases/board/")
    assert [u["name"] for u in b.context["board"]["units"]] == ["拱墅区市场监督管理局"]
    assert b.context["appeals"] == []
    assert case.number not in b.content.decode()
    a = login(world, "a_admin").get("/cases/board/")
    assert [c.pk for c in a.context["appeals"]] == [case.pk]
    html = a.content.decode()
    assert f'href="/cases/{case.pk}/"' in html and "误评" in html
    city = login(world, "city_admin").get("/cases/board/")
    assert city.context["board"]["totals"]["total"] == 2


def test_board_buckets_states_and_escalations(world):
    old, _new = open_bad_review(world), open_bad_review(world)
    Case.objects.filter(pk=old.pk).update(
        opened_at=timezone.now() - timedelta(days=45),
        due_on=timezone.localdate() - timedelta(days=20),
        escalation_level=2,
    )
    response = login(world, "a_admin").get("/cases/board/")
    board = response.context["board"]
    new_row = next(r for r in board["matrix"] if r["state"] == "new")
    assert new_row["buckets"] == [1, 0, 0, 1] and new_row["total"] == 2 and new_row["overdue"] == 1
    [unit] = board["units"]
    assert unit["new"] == 2 and unit["overdue"] == 1 and unit["oldest_age"] > 15
    assert [c.pk for c in response.context["escalated"]] == [old.pk]
    html = response.content.decode()
    assert (
        f"/cases/?unit={world.a.dept.pk}&amp;state=new" in html or f"/cases/?unit={world.a.dept.pk}&state=new" in html
    )


def test_board_filters(world):
    open_bad_review(world)
    client = login(world, "city_admin")
    complaint_b(world)
    response = client.get(f"/cases/board/?unit={world.b.dept.pk}")
    assert [u["name"] for u in response.context["board"]["units"]] == ["拱墅区市场监督管理局"]
    response = client.get("/cases/board/?state=assigned")
    assert response.context["board"]["totals"]["total"] == 0


@pytest.mark.parametrize("query", ["unit=999999", "unit=abc", "state=closed"])
def test_board_bad_filter_is_400_naming_the_field(world, query):
    response = login(world, "a_admin").get("/cases/board/?" + query)
    assert response.status_code == 400
    field = query.split("=")[0]
    assert response.context["form"].errors[field]


def test_board_out_of_scope_unit_is_refused(world):
    response = login(world, "a_admin").get(f"/cases/board/?unit={world.b.dept.pk}")
    assert response.status_code == 400 and "数据范围" in response.content.decode()


def test_metrics_page_and_json_are_scoped(world):
    open_bad_review(world)
    complaint_b(world)
    a = login(world, "a_admin").get("/cases/metrics/?format=json").json()
    assert a["totals"]["opened"] == 1 and a["scope"] == "上城区"
    assert a["targets"]["real_name_rate"] == 1.0
    assert [r["label"] for r in a["by_unit"]] == ["上城区市场监督管理局"]
    b = login(world, "b_admin").get("/cases/metrics/?format=json").json()
    assert b["totals"]["opened"] == 1 and [r["label"] for r in b["by_unit"]] == ["拱墅区市场监督管理局"]
    city = login(world, "city_admin").get("/cases/metrics/?format=json").json()
    assert {r["label"]: r["metrics"]["opened"] for r in city["by_region"]} == {"上城区": 1, "拱墅区": 1}
    dept = login(world, "a_dept_admin").get("/cases/metrics/?format=json").json()
    assert dept["totals"]["opened"] == 1 and dept["by_region"] == []


def test_metrics_page_highlights_missed_target(world):
    open_bad_review(world)  # real-name, not called back: 0% < 100%
    response = login(world, "a_admin").get("/cases/metrics/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "below-target" in html and "未达到 100%" in html
    assert response.context["totals"]["real_name_rate"] == 0.0


def test_metrics_without_cases_shows_dashes(world):
    response = login(world, "a_admin").get("/cases/metrics/")
    assert response.status_code == 200
    assert "—" in response.content.decode() and "below-target" not in response.content.decode()


def test_metrics_period(world):
    case = open_bad_review(world)
    Case.objects.filter(pk=case.pk).update(opened_at=timezone.now() - timedelta(days=800))
    client = login(world, "a_admin")
    assert client.get("/cases/metrics/?format=json").json()["totals"]["opened"] == 0
    start = (timezone.localdate() - timedelta(days=900)).isoformat()
    data = client.get(f"/cases/metrics/?format=json&start={start}").json()
    assert data["totals"]["opened"] == 1 and data["start"] == start


@pytest.mark.parametrize(
    ("query", "field"), [("start=2026-13-01", "start"), ("start=2026-05-02&end=2026-05-01", "end")]
)
def test_metrics_bad_period(world, query, field):
    client = login(world, "a_admin")
    response = client.get(f"/cases/metrics/?format=json&{query}")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert client.get(f"/cases/metrics/?{query}").status_code == 400
