"""The audit app: the identity-access log of rater reveals, the administrative log, their pages and scope."""

from __future__ import annotations

import pytest
from django.test import Client

from haochaping.audit.models import AdminAction, AppendOnlyError, IdentityAccess
from haochaping.cases.models import CaseEvent
from haochaping.cases.services import case_act
from haochaping.directory.models import Staff
from tests.cases_helpers import open_bad_review

REASON = "电话回访核实差评情况"


def _client(user) -> Client:
    client = Client(HTTP_USER_AGENT="pytest-browser/1.0")
    client.force_login(user)
    return client


def _assigned_case(world, phone="13800138000", **extra):
    u = world.users
    case = open_bad_review(world, phone=phone, **extra)
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    return case


def test_reveal_needs_a_stated_reason_naming_the_field(world):
    case = _assigned_case(world)
    r = _client(world.users["a_handler"]).post(f"/cases/{case.pk}/contact/", {"reason": ""})
    page = r.content.decode()
    assert r.status_code == 422 and "13800138000" not in page
    assert 'id="id_reveal_reason"' in page and 'aria-invalid="true"' in page and "查看理由" in page
    assert not IdentityAccess.objects.exists() and not CaseEvent.objects.filter(action="view_contact").exists()


def test_reveal_is_logged_with_who_what_why_and_where(world):
    u = world.users
    case = _assigned_case(world, rater_name="张三丰")
    r = _client(u["a_handler"]).post(f"/cases/{case.pk}/contact/", {"reason": REASON}, REMOTE_ADDR="10.1.2.3")
    page = r.content.decode()
    assert r.status_code == 200 and "13800138000" in page and "张三丰" in page
    entries = {e.field: e for e in IdentityAccess.objects.all()}
    assert set(entries) == {"phone", "name"}
    e = entries["phone"]
    assert (e.user, e.username, e.reason, e.ip) == (u["a_handler"], "a_handler", REASON, "10.1.2.3")
    assert e.user_agent == "pytest-browser/1.0" and e.record_kind == "case" and e.record_id == case.number
    assert e.rating_public_id == str(case.rating.public_id) and e.region_path == world.a.region.path
    assert CaseEvent.objects.filter(case=case, action="view_contact", note__contains=REASON).exists()
    # Before a reveal the page shows name and phone masked only.
    plain = _client(u["a_handler"]).get(f"/cases/{case.pk}/").content.decode()
    assert "张三丰" not in plain and "张**" in plain and "13800138000" not in plain


def test_reveal_is_refused_to_others_and_on_cases_no_longer_open(world):
    u = world.users
    case = _assigned_case(world)
    for name, status in (("a_auditor", 403), ("a_inspector", 403), ("a_clerk", 404), ("b_admin", 404)):
        r = _client(u[name]).post(f"/cases/{case.pk}/contact/", {"reason": REASON})
        assert r.status_code == status, name
        assert "13800138000" not in r.content.decode()
    case.state = "feedback"
    case.save(update_fields=["state"])
    r = _client(u["a_handler"]).post(f"/cases/{case.pk}/contact/", {"reason": REASON})
    assert r.status_code == 409 and "13800138000" not in r.content.decode()
    assert not IdentityAccess.objects.exists()


def test_logs_are_append_only(world):
    case = _assigned_case(world)
    _client(world.users["a_handler"]).post(f"/cases/{case.pk}/contact/", {"reason": REASON})
    entry = IdentityAccess.objects.first()
    entry.reason = "改写"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        IdentityAccess.objects.all().update(reason="x")
    with pytest.raises(AppendOnlyError):
        AdminAction.objects.all().delete()
    root = _client(world.users["root"])
    assert root.get(f"/admin/audit/identityaccess/{entry.pk}/delete/").status_code in (302, 403)
    assert root.post(f"/admin/audit/identityaccess/{entry.pk}/change/", {"reason": "x"}).status_code == 403
    assert IdentityAccess.objects.get(pk=entry.pk).reason == REASON


def test_auditor_searches_the_identity_log_and_exports_csv(world):
    u = world.users
    case = _assigned_case(world)
    _client(u["a_handler"]).post(f"/cases/{case.pk}/contact/", {"reason": REASON})
    auditor = _client(u["a_auditor"])
    page = auditor.get("/integrity/audit/").content.decode()
    assert "a_handler" in page and REASON in page and case.number in page and "13800138000" not in page
    assert "a_handler" in auditor.get("/integrity/audit/", {"user": "a_handler", "field": "phone"}).content.decode()
    assert REASON not in auditor.get("/integrity/audit/", {"user": "a_dept_admin"}).content.decode()
    assert (
        REASON not in auditor.get("/integrity/audit/", {"since": "2000-01-01", "until": "2000-01-02"}).content.decode()
    )
    assert REASON in auditor.get("/integrity/audit/", {"record": case.number}).content.decode()
    r = auditor.get("/integrity/audit/", {"format": "csv", "user": "a_handler"})
    body = b"".join(r.streaming_content).decode()
    assert r["Content-Type"].startswith("text/csv") and REASON in body and "13800138000" not in body
    for name in ("a_handler", "a_clerk", "a_inspector", "nobody"):
        assert _client(u[name]).get("/integrity/audit/").status_code == 403, name


def test_out_of_scope_auditor_and_admin_see_nothing_of_other_regions(world):
    u = world.users
    case = _assigned_case(world)
    _client(u["a_handler"]).post(f"/cases/{case.pk}/contact/", {"reason": REASON})
    for name in ("b_admin",):
        page = _client(u[name]).get("/integrity/audit/").content.decode()
        assert REASON not in page and case.number not in page
        body = b"".join(_client(u[name]).get("/integrity/audit/?format=csv").streaming_content).decode()
        assert REASON not in body
    for name in ("a_admin", "city_admin", "root"):
        assert REASON in _client(u[name]).get("/integrity/audit/").content.decode(), name


def test_admin_changes_appear_in_the_admin_log_masked(world):
    u = world.users
    root = _client(u["root"])
    staff = world.a.clerk
    r = root.post(
        f"/admin/directory/staff/{staff.pk}/change/",
        {
            "code": staff.code,
            "name": "王小明",
            "unit": staff.unit_id,
            "window": staff.window_id or "",
            "user": staff.user_id or "",
            "title": "科员",
            "is_active": "on",
        },  # fmt: skip
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    entry = AdminAction.objects.filter(model="staff", object_id=str(staff.pk), action="update").latest("id")
    assert entry.source == "admin" and entry.actor == u["root"] and entry.actor_name == "root"
    assert entry.changes["title"][1] == "科员" and entry.region_path == world.a.region.path
    assert "王小明" not in str(entry.changes) + entry.object_repr  # personal name masked
    # Role grants and API keys are recorded; secrets never in clear.
    from haochaping.accounts.apikeys import api_key_create

    key, raw = api_key_create(name="新系统", unit=world.a.dept)
    key_entry = AdminAction.objects.filter(model="apikey", object_id=str(key.pk), action="create").get()
    assert key_entry.changes["key_hash"][1] == "***" and raw not in str(key_entry.changes)
    assert AdminAction.objects.filter(model="membership", action="create").count() >= 8
    # The auditor finds it on the admin-log page; county B's admin does not.
    page = _client(u["a_auditor"]).get("/integrity/audit/admin-log/", {"model": "staff"}).content.decode()
    assert "科员" in page and "王小明" not in page
    assert "科员" not in _client(u["b_admin"]).get("/integrity/audit/admin-log/", {"model": "staff"}).content.decode()
    csv = b"".join(_client(u["a_auditor"]).get("/integrity/audit/admin-log/?format=csv").streaming_content).decode()
    assert "科员" in csv


def test_saves_that_only_touch_bookkeeping_are_not_logged(world):
    before = AdminAction.objects.count()
    user = world.users["a_handler"]
    from django.utils import timezone

    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    Staff.objects.filter(pk=world.a.clerk.pk).update(title="x")  # bulk updates bypass signals by design
    assert AdminAction.objects.count() == before


def test_window_staff_never_see_who_rated_them(world):
    from haochaping.accounts.roles import assign_role_group

    u = world.users
    from haochaping.ratings.models import Rating

    case = open_bad_review(world, phone="13800138000", rater_name="张三丰")
    Rating.objects.filter(pk=case.rating_id).update(staff=world.a.clerk)
    clerk = u["a_clerk"]
    clerk.is_staff = True
    clerk.save()
    assign_role_group(clerk)
    client = _client(clerk)
    rating = case.rating
    listing = client.get("/admin/ratings/rating/")
    assert listing.status_code == 200
    detail = client.get(f"/admin/ratings/rating/{rating.pk}/change/")
    assert detail.status_code == 200, "the clerk sees the rating about their own service"
    for page in (listing.content.decode(), detail.content.decode()):
        assert "8000" not in page and "138****" not in page and "张三丰" not in page and "张*" not in page
        assert rating.service_case is None or rating.service_case.case_no not in page
    assert client.get(f"/cases/{case.pk}/").status_code in (403, 404)
    assert client.post(f"/cases/{case.pk}/contact/", {"reason": REASON}).status_code in (403, 404)
    dashboard = client.get("/analytics/")
    assert dashboard.status_code == 200 and "13800138000" not in dashboard.content.decode()
    assert not IdentityAccess.objects.exists()
