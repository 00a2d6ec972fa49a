"""The cases admin: read-only cases for every case role, scoped policies, the holiday calendar, role groups."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from haochaping.accounts.models import Membership, Role
from haochaping.accounts.roles import assign_role_group, group_name, sync_role_groups
from haochaping.cases import policy, workdays
from haochaping.cases.models import CalendarDay, Case, CasePolicy
from haochaping.cases.services import case_act
from tests.cases_helpers import evidence, open_bad_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(world):
    """The world's logins in their role groups, plus a system administrator."""
    sysadmin = type(world.users["root"]).objects.create_user(username="sysadmin", password="x", is_staff=True)
    Membership.objects.create(user=sysadmin, unit=world.a.agency, role=Role.SYSTEM_ADMIN)
    world.users["sysadmin"] = sysadmin
    for name in ("a_handler", "a_inspector"):
        world.users[name].is_staff = True
        world.users[name].save()
    groups = sync_role_groups()
    for user in world.users.values():
        assign_role_group(user, groups)
    return world


def login(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


def perms(role: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(group__name=group_name(role)).select_related("content_type")
    }


def test_role_groups_carry_the_case_permissions(world):
    sync_role_groups()
    sync_role_groups()  # idempotent
    agency, dept, handler = perms(Role.AGENCY_ADMIN), perms(Role.DEPARTMENT_ADMIN), perms(Role.CASE_HANDLER)
    system, inspector, auditor = perms(Role.SYSTEM_ADMIN), perms(Role.INSPECTOR), perms(Role.AUDITOR)
    assert {"cases.view_case", "cases.view_caseevent", "cases.change_casepolicy", "cases.add_casepolicy"} <= agency
    assert "cases.change_case" not in agency and "cases.change_calendarday" not in agency
    assert {"cases.view_case", "cases.view_caseattachment"} <= dept and "cases.change_casepolicy" not in dept
    assert {"cases.view_case", "cases.view_appeal", "cases.view_callbackattempt"} <= handler
    assert {"cases.change_casepolicy", "cases.change_calendarday", "cases.view_notification"} <= system
    assert "cases.change_case" not in system and "cases.add_caseevent" not in system
    for ro in (inspector, auditor):
        assert {"cases.view_case", "cases.view_casepolicy", "cases.view_calendarday"} <= ro
        assert not {p for p in ro if p.startswith("cases.") and not p.startswith("cases.view_")}
        assert "cases.view_notification" not in ro
    everything = set().union(*(perms(r) for r in Role))
    assert not {p for p in everything if ".delete_" in p}  # nothing is deleted through the product


def test_cases_are_listed_read_only_within_the_scope(staff):
    case = open_bad_review(staff)
    url = f"/admin/cases/case/{case.pk}/change/"
    for username in ("a_admin", "a_dept_admin", "a_handler", "a_auditor", "a_inspector", "city_admin", "sysadmin"):
        client = login(staff, username)
        r = client.get("/admin/cases/case/")
        assert r.status_code == 200, username
        assert case.number in r.content.decode(), username
        r = client.get(url)
        assert r.status_code == 200, username
        page = r.content.decode()
        assert 'name="_save"' not in page  # view only
        assert f"/cases/{case.pk}/" in page  # the way to change it: the case page
        assert "差评自动立案" in page  # the history inline
        assert client.post(url, {"state": "closed"}).status_code == 403
        assert client.get("/admin/cases/case/add/").status_code == 403
        assert client.get(f"/admin/cases/case/{case.pk}/delete/").status_code == 403
    case.refresh_from_db()
    assert case.state == "new"
    b = login(staff, "b_admin")
    assert case.number not in b.get("/admin/cases/case/").content.decode()
    assert b.get(url).status_code == 404


def test_cases_filter_and_search_by_number(staff):
    first, second = open_bad_review(staff), open_bad_review(staff, phone="13900139000")
    case_act(
        case_id=second.pk,
        action="assign",
        user=staff.users["a_dept_admin"],
        data={"handler": staff.users["a_handler"].pk},
    )
    client = login(staff, "a_admin")
    page = client.get("/admin/cases/case/", {"state__exact": "assigned"}).content.decode()
    assert second.number in page and first.number not in page
    for term in (first.number, str(first.pk), f"#{first.pk}"):
        r = client.get("/admin/cases/case/", {"q": term})
        assert r.context["cl"].result_count == 1 and list(r.context["cl"].result_list) == [first], term
    assert client.get("/admin/cases/case/", {"q": "排队"}).context["cl"].result_count == 0


def test_evidence_is_linked_through_the_scoped_view_not_media(staff, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.MEDIA_URL = "/media/"
    u = staff.users
    case = open_bad_review(staff, phone=None)
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "误触"})
    case_act(
        case_id=case.pk,
        action="appeal",
        user=u["a_handler"],
        data={"ground": "mistaken", "reason": "监控显示误触"},
        files=[evidence("still.png")],
    )
    attachment = Case.objects.get(pk=case.pk).attachments.get()
    page = login(staff, "a_admin").get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert f"/cases/attachments/{attachment.pk}/" in page
    assert "/media/" not in page and attachment.file.name not in page
    assert "监控显示误触" in page  # the appeal inline


def test_agency_admin_edits_the_policy_of_own_regions_only(staff):
    client = login(staff, "a_admin")
    assert policy.policy_for_path(staff.a.region.path).rectify_days == 5  # warms the cache
    data = {
        "callback_days": 2,
        "rectify_days": 10,
        "extension_days": 3,
        "appeal_review_days": 5,
        "feedback_days": 5,
        "due_soon_days": 1,
        "escalate_after_days": 2,
        "pause_for_rater": "on",
    }
    r = client.post("/admin/cases/casepolicy/add/", {**data, "region": staff.b.region.pk})
    assert r.status_code == 200 and "region" in r.context["adminform"].form.errors
    r = client.post("/admin/cases/casepolicy/add/", {**data, "region": staff.a.region.pk, "rectify_days": 200})
    assert r.status_code == 200 and "rectify_days" in r.context["adminform"].form.errors
    r = client.post("/admin/cases/casepolicy/add/", {**data, "region": staff.a.region.pk})
    assert r.status_code == 302
    row = CasePolicy.objects.get(region=staff.a.region)
    # The cache is cleared on save: the next deadline already uses the new figures.
    assert policy.policy_for_path(staff.a.region.path).rectify_days == 10
    assert login(staff, "b_admin").get(f"/admin/cases/casepolicy/{row.pk}/change/").status_code == 404
    r = login(staff, "a_auditor").post(f"/admin/cases/casepolicy/{row.pk}/change/", {**data, "region": row.region_id})
    assert r.status_code == 403
    city_row = CasePolicy.objects.create(region=staff.city, rectify_days=7)
    assert client.get(f"/admin/cases/casepolicy/{city_row.pk}/change/").status_code == 404  # above a_admin
    r = login(staff, "sysadmin").post(
        f"/admin/cases/casepolicy/{city_row.pk}/change/", {**data, "region": staff.city.pk, "rectify_days": 8}
    )
    assert r.status_code == 302
    assert policy.policy_for_path(staff.b.region.path).rectify_days == 8  # B inherits the city's


def test_calendar_changelist_warns_of_uncovered_years(staff, monkeypatch):
    monkeypatch.setattr(workdays, "today", lambda: date(2026, 11, 26))
    client = login(staff, "sysadmin")
    r = client.get("/admin/cases/calendarday/")
    shown = [(m.level_tag, str(m)) for m in r.context["messages"]]
    last = workdays.PACKAGE_YEARS[-1]
    assert any(tag == "info" and f"至{last}年" in text for tag, text in shown)
    assert any(tag == "warning" and "2027年" in text for tag, text in shown)
    CalendarDay.objects.create(date=date(2027, 2, 8), is_workday=False, name="春节")
    r = client.get("/admin/cases/calendarday/")
    assert not [m for m in r.context["messages"] if m.level_tag == "warning"]
    assert "春节" in r.content.decode()


def test_only_system_admins_edit_the_calendar(staff):
    assert workdays.is_workday(date(2026, 12, 31))  # warms the cache
    r = login(staff, "a_admin").post("/admin/cases/calendarday/add/", {"date": "2026-12-31", "name": "放假"})
    assert r.status_code == 403
    assert login(staff, "a_admin").get("/admin/cases/calendarday/").status_code == 200  # may look
    r = login(staff, "sysadmin").post("/admin/cases/calendarday/add/", {"date": "2026-12-31", "name": "临时放假"})
    assert r.status_code == 302
    assert CalendarDay.objects.get(date=date(2026, 12, 31)).is_workday is False
    assert not workdays.is_workday(date(2026, 12, 31))  # cache cleared by the save


def test_notifications_are_for_system_admins_only(staff):
    case = open_bad_review(staff)
    case_act(
        case_id=case.pk,
        action="assign",
        user=staff.users["a_dept_admin"],
        data={"handler": staff.users["a_handler"].pk},
    )
    r = login(staff, "sysadmin").get("/admin/cases/notification/")
    assert r.status_code == 200 and case.number in r.content.decode()
    assert login(staff, "a_admin").get("/admin/cases/notification/").status_code == 403
    assert login(staff, "sysadmin").get("/admin/cases/notification/add/").status_code == 403
