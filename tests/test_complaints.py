"""Complaints (投诉): the public form /cases/complaint/ and the hotline keying page /entry/complaint/."""

from __future__ import annotations

import pytest
from django.test import Client

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases.models import Case, Kind, State
from haochaping.lib import protect
from haochaping.ratings.services import service_case_register

URL = "/cases/complaint/"


def post(client: Client, **fields):
    data = {
        "unit_id": "",
        "case_no": "",
        "content": "窗口人员推诿，要求跑三次",
        "contact_name": "",
        "contact_phone": "",
    }
    data.update(fields)
    return client.post(URL, data)


def test_form_lists_units_by_region(world):
    r = Client().get(URL)
    assert r.status_code == 200
    page = r.content.decode()
    assert '<optgroup label="上城区">' in page and world.a.dept.name in page
    assert 'name="contact_phone"' in page and 'type="tel"' in page


def test_complaint_opens_a_case_and_shows_its_number(world):
    client = Client()
    r = post(client, unit_id=world.a.dept.pk, contact_phone="138 0013 8000", contact_name="张三")
    assert r.status_code == 302
    case = Case.objects.get()
    assert (case.kind, case.state, case.channel, case.unit) == (Kind.COMPLAINT, State.NEW, "pc", world.a.dept)
    assert protect.decrypt(case.contact_phone_enc) == "13800138000" and case.contact_name == "张三"
    done = client.get(r["Location"])
    page = done.content.decode()
    assert case.number in page and "处理结果将以短信告知" in page
    assert "13800138000" not in page and world.a.dept.name not in page  # nothing internal, not even the routing
    again = client.get(r["Location"])  # the number is shown once; a reload shows the empty form
    assert case.number not in again.content.decode()


def test_case_no_routes_to_the_unit_that_handled_it(world):
    service_case_register(scope=ALL_SCOPE, case_no="BJ-T1", item_code=world.b.item.implementation_code)
    r = post(Client(), case_no="BJ-T1", contact_phone="13800138000")
    assert r.status_code == 302
    assert Case.objects.get().unit == world.b.dept


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"contact_phone": ""}, "contact_phone", "请填写11位手机号码"),
        ({"contact_phone": "12345"}, "contact_phone", "请填写11位手机号码"),
        ({"contact_phone": "23800138000"}, "contact_phone", "请填写11位手机号码"),
        ({"unit_id": "", "contact_phone": "13800138000"}, "unit_id", "请选择被投诉单位，或填写办件编号"),
        ({"content": "", "contact_phone": "13800138000"}, "content", "请填写投诉内容"),
        ({"case_no": "NO-SUCH", "contact_phone": "13800138000"}, "case_no", "办件不存在"),
    ],
)
def test_field_errors_are_shown_next_to_the_field(world, fields, field, message):
    fields = {"unit_id": world.a.dept.pk, **fields} if "unit_id" not in fields else fields
    r = post(Client(), **fields)
    assert r.status_code == 422
    errors = r.context["form"].errors
    assert message in " ".join(errors[field]), errors
    assert f'id="id_{field}_errors"' in r.content.decode()
    assert 'aria-invalid="true"' in r.content.decode()
    assert not Case.objects.exists()


def test_too_long_content_is_refused(world):
    r = post(Client(), unit_id=world.a.dept.pk, content="长" * 2001, contact_phone="13800138000")
    assert r.status_code == 422 and "content" in r.context["form"].errors


def test_inactive_unit_is_not_offered(world):
    world.b.dept.is_active = False
    world.b.dept.save()
    r = post(Client(), unit_id=world.b.dept.pk, contact_phone="13800138000")
    assert r.status_code == 422 and "unit_id" in r.context["form"].errors


def test_rate_limit_per_address(world, settings):
    settings.HAOCHAPING_COMPLAINTS_PER_HOUR = 2
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(2):
        assert post(client, unit_id=world.a.dept.pk, contact_phone="13800138000").status_code == 302
    r = post(client, unit_id=world.a.dept.pk, contact_phone="13800138000")
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert "请求过于频繁" in r.content.decode()
    assert Case.objects.count() == 2
    other = Client(REMOTE_ADDR="203.0.113.8")  # another address is not affected
    assert post(other, unit_id=world.a.dept.pk, contact_phone="13800138000").status_code == 302


def test_invalid_posts_are_limited_too(world, settings):
    settings.HAOCHAPING_COMPLAINT_POSTS_PER_HOUR = 3
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(3):
        assert post(client, case_no="GUESS", contact_phone="13800138000").status_code == 422
    assert post(client, case_no="GUESS", contact_phone="13800138000").status_code == 429


# --- the hotline keying page (/entry/complaint/) ----------------------------------------------------------

HOTLINE = "/entry/complaint/"


def staff(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


def test_hotline_complaint_opens_a_phone_case_with_the_keyer(world):
    client = staff(world, "a_admin")
    page = client.get(HOTLINE)
    assert page.status_code == 200
    assert world.a.dept.name in page.content.decode() and world.b.dept.name not in page.content.decode()
    data = {"unit": world.a.dept.pk, "content": "来电反映窗口推诿", "caller_phone": "13700137000"}
    r = client.post(HOTLINE, {**data, "caller_name": "王五"})
    assert r.status_code == 302
    case = Case.objects.get()
    assert (case.kind, case.channel, case.unit) == (Kind.COMPLAINT, "phone", world.a.dept)
    event = case.events.get()
    assert event.actor == world.users["a_admin"]
    shown = client.get(r["Location"]).content.decode()
    assert case.number in shown and f'href="/cases/{case.pk}/"' in shown
    assert 'href="/entry/complaint/"' in shown  # the nav link


def test_hotline_complaint_field_errors_and_scope(world):
    client = staff(world, "a_dept_admin")
    r = client.post(HOTLINE, {"unit": world.a.dept.pk, "content": "推诿", "caller_phone": ""})
    assert r.status_code == 422 and "caller_phone" in r.context["form"].errors
    r = client.post(HOTLINE, {"unit": world.a.dept.pk, "content": "推诿", "caller_phone": "1370013"})
    assert r.status_code == 422 and "请填写11位手机号码" in " ".join(r.context["form"].errors["caller_phone"])
    r = client.post(HOTLINE, {"unit": world.b.dept.pk, "content": "推诿", "caller_phone": "13700137000"})
    assert r.status_code == 422 and "unit" in r.context["form"].errors  # not offered outside the scope
    r = client.post(HOTLINE, {"content": "推诿", "caller_phone": "13700137000"})
    assert r.status_code == 422 and "unit" in r.context["form"].errors
    service_case_register(scope=ALL_SCOPE, case_no="BJ-B-9", item_code=world.b.item.implementation_code)
    r = client.post(HOTLINE, {"case_no": "BJ-B-9", "content": "推诿", "caller_phone": "13700137000"})
    assert r.status_code == 422 and "case_no" in r.context["form"].errors  # another county's 办件
    assert not Case.objects.exists()


def test_hotline_complaint_banner_only_for_cases_in_scope(world):
    assert post(Client(), unit_id=world.b.dept.pk, contact_phone="13800138000").status_code == 302
    other = Case.objects.get()
    page = staff(world, "a_admin").get(f"{HOTLINE}?opened={other.pk}")
    assert page.status_code == 200 and other.number not in page.content.decode()


def test_hotline_complaint_is_refused_to_read_only_roles(world):
    for username in ("a_auditor", "a_inspector", "nobody"):
        assert staff(world, username).get(HOTLINE).status_code == 403
    assert Client().get(HOTLINE).status_code == 302  # to the login page
