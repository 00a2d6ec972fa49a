"""The rater's phone number: masked on the case page, revealed to the handler for the call-back, and recorded."""

from __future__ import annotations

from django.test import Client

from haochaping.cases.models import CaseEvent
from haochaping.cases.services import case_act
from tests.cases_helpers import open_bad_review


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_masks_the_phone_and_reveals_it_to_the_handler_with_a_record(world):
    u = world.users
    case = open_bad_review(world, phone="13800138000")
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    page = _client(u["a_handler"]).get(f"/cases/{case.pk}/").content.decode()
    assert "138****8000" in page and "13800138000" not in page
    r = _client(u["a_handler"]).post(f"/cases/{case.pk}/contact/", {"reason": "电话回访核实情况"})
    assert r.status_code == 200 and "13800138000" in r.content.decode()
    event = CaseEvent.objects.get(case=case, action="view_contact")
    assert event.actor == u["a_handler"]
    assert "查看完整联系电话" in _client(u["a_handler"]).get(f"/cases/{case.pk}/").content.decode()


def test_it_refuses_the_reveal_to_read_only_roles_and_other_counties(world):
    u = world.users
    case = open_bad_review(world, phone="13800138000")
    r = _client(u["a_auditor"]).post(f"/cases/{case.pk}/contact/", {"reason": "电话回访核实情况"})
    assert r.status_code == 403 and "13800138000" not in r.content.decode()
    assert _client(u["b_admin"]).post(f"/cases/{case.pk}/contact/", {"reason": "电话回访核实情况"}).status_code == 404
    assert not CaseEvent.objects.filter(action="view_contact").exists()
