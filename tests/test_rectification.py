"""整改事项: opening (from a problem or not), progress, completion with measures, cancellation, the sweep's overdue
marking, and the pages with their permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from haochaping.cases import rectification as services
from haochaping.cases import workdays
from haochaping.cases.models import Rectification
from haochaping.cases.sweep import sweep
from haochaping.insight.models import Problem
from haochaping.lib.errors import Conflict, ValidationFailed


def login(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


@pytest.fixture
def problem(world) -> Problem:
    today = workdays.today()
    return Problem.objects.create(
        region=world.a.region,
        period_start=today - timedelta(days=29),
        period_end=today,
        label="取号机故障",
        keywords=["取号", "坏"],
        size=40,
        units=[{"id": world.a.dept.pk, "name": world.a.dept.name, "n": 40}],
        status=Problem.Status.CONFIRMED,
    )


def open_item(world, problem=None, **extra) -> Rectification:
    data = {"title": "取号机故障整改", "unit": world.a.dept, "actor": world.users["a_admin"], **extra}
    return services.rectification_open(problem, **data)


@pytest.mark.django_db
def test_open_from_a_problem_sets_it_rectifying(world, problem):
    item = open_item(world, problem, owner=world.users["a_handler"], description="请限期整改")
    problem.refresh_from_db()
    assert problem.status == Problem.Status.RECTIFYING and problem.rectification == item
    assert item.region == world.a.region and item.owner == world.users["a_handler"]
    assert item.deadline == services.default_deadline() > workdays.today()
    assert item.source == f"集中问题 #{problem.pk}"
    with pytest.raises(Conflict):
        open_item(world, problem)


@pytest.mark.django_db
def test_open_rejects_bad_input_naming_the_field(world):
    cases = [
        ({"title": ""}, "title"),
        ({"unit": None}, "unit"),
        ({"deadline": workdays.today()}, "deadline"),
        ({"owner": world.users["b_admin"]}, "owner"),  # not a member of the unit
    ]
    for extra, field in cases:
        with pytest.raises(ValidationFailed) as err:
            open_item(world, **extra)
        assert err.value.field == field
    item = open_item(world, deadline=workdays.today() + timedelta(days=3), source="督查发现")
    assert item.source == "督查发现"


@pytest.mark.django_db
def test_progress_complete_and_cancel(world, problem):
    item = open_item(world, problem)
    services.rectification_progress(item.pk, progress="已联系厂家维修", actor=world.users["a_handler"])
    with pytest.raises(ValidationFailed) as err:
        services.rectification_complete(item.pk, measures="  ", actor=world.users["a_handler"])
    assert err.value.field == "measures"
    done = services.rectification_complete(item.pk, measures="更换取号机两台", actor=world.users["a_handler"])
    assert done.state == Rectification.State.DONE and done.completed_at and "已联系厂家维修" in done.progress
    with pytest.raises(Conflict):
        services.rectification_progress(item.pk, progress="再补充", actor=world.users["a_handler"])
    other = open_item(world)
    with pytest.raises(ValidationFailed):
        services.rectification_cancel(other.pk, reason="", actor=world.users["a_admin"])
    cancelled = services.rectification_cancel(other.pk, reason="重复交办", actor=world.users["a_admin"])
    assert cancelled.state == Rectification.State.CANCELLED


@pytest.mark.django_db
def test_cancelling_puts_the_problem_back_to_confirmed(world, problem):
    item = open_item(world, problem)
    services.rectification_cancel(item.pk, reason="交办单位有误", actor=world.users["a_admin"])
    problem.refresh_from_db()
    assert problem.status == Problem.Status.CONFIRMED and problem.rectification is None


@pytest.mark.django_db
def test_sweep_marks_overdue_rectifications_once(world):
    item = open_item(world, deadline=workdays.today() + timedelta(days=2))
    done = open_item(world, deadline=workdays.today() + timedelta(days=2))
    services.rectification_complete(done.pk, measures="已整改", actor=world.users["a_handler"])
    assert sweep().rectifications_overdue == 0
    later = timezone.now() + timedelta(days=5)
    report = sweep(now=later)
    assert report.rectifications_overdue == 1 and report.counts()["rectifications_overdue"] == 1
    item.refresh_from_db()
    done.refresh_from_db()
    assert item.overdue_notified_at == later and done.overdue_notified_at is None
    assert sweep(now=later + timedelta(hours=1)).rectifications_overdue == 0
    assert services.is_overdue(item, workdays.today() + timedelta(days=5))


# --- pages -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_and_detail_access(world, problem):
    item = open_item(world, problem)
    list_url, url = reverse("cases:rectifications"), reverse("cases:rectification_detail", args=[item.pk])
    for username in ("root", "city_admin", "a_admin", "a_inspector", "a_auditor", "a_dept_admin", "a_handler"):
        client = login(world, username)
        page = client.get(list_url)
        assert page.status_code == 200, username
        assert item.title in page.content.decode()
        assert client.get(url).status_code == 200, username
    for username in ("a_clerk", "nobody"):
        assert login(world, username).get(list_url).status_code == 403, username
    assert login(world, "b_admin").get(url).status_code == 404
    assert login(world, "a_admin").get(list_url, {"state": "done"}).context["rows"] == []


@pytest.mark.django_db
def test_overdue_is_highlighted(world):
    item = open_item(world, deadline=workdays.today() + timedelta(days=1))
    Rectification.objects.filter(pk=item.pk).update(deadline=workdays.today() - timedelta(days=1))
    page = login(world, "a_admin").get(reverse("cases:rectifications"))
    assert page.context["rows"][0][1] is True
    assert 'class="overdue"' in page.content.decode()


@pytest.mark.django_db
def test_owner_unit_reports_agency_cancels(world):
    item = open_item(world)
    url = reverse("cases:rectification_detail", args=[item.pk])
    # progress and completion: the owner unit's users, not read-only, not the agency
    for username in ("a_admin", "a_auditor", "a_inspector", "city_admin"):
        assert login(world, username).post(url, {"action": "progress", "progress": "x"}).status_code == 403, username
    handler = login(world, "a_handler")
    assert handler.post(url, {"action": "progress", "progress": "已维修"}).status_code == 302
    assert handler.post(url, {"action": "complete", "measures": ""}).status_code == 422
    assert handler.post(url, {"action": "cancel", "reason": "x"}).status_code == 403
    assert handler.post(url, {"action": "complete", "measures": "更换设备"}).status_code == 302
    item.refresh_from_db()
    assert item.state == Rectification.State.DONE and item.measures == "更换设备"
    # cancellation: agency administrators and system administrators
    other = open_item(world)
    other_url = reverse("cases:rectification_detail", args=[other.pk])
    assert login(world, "a_dept_admin").post(other_url, {"action": "cancel", "reason": "x"}).status_code == 403
    assert login(world, "a_auditor").post(other_url, {"action": "cancel", "reason": "x"}).status_code == 403
    assert login(world, "a_admin").post(other_url, {"action": "cancel", "reason": "重复"}).status_code == 302
    other.refresh_from_db()
    assert other.state == Rectification.State.CANCELLED
