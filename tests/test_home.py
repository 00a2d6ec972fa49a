"""The site's sign-in (for staff who are not admin users) and the home page's tools per role."""

from __future__ import annotations

from django.test import Client


def test_a_case_handler_signs_in_on_the_site_login(world):
    client = Client()
    r = client.post("/login/", {"username": "a_handler", "password": "pw-a_handler"})
    assert r.status_code == 302 and r["Location"] == "/"
    page = client.get("/").content.decode()
    assert "/entry/" in page and "/admin/" not in page.split("我的工作台")[1]


def test_it_refuses_a_wrong_password_with_a_form_error(world):
    r = Client().post("/login/", {"username": "a_handler", "password": "wrong"})
    assert r.status_code == 200 and r.context["form"].errors


def test_window_staff_get_the_evaluator_tool_and_no_entry(world):
    client = Client()
    client.force_login(world.users["a_clerk"])
    tools = [t.url for t in client.get("/").context["tools"]]
    assert "/evaluator/clerk/" in tools and "/entry/" not in tools


def test_auditors_get_read_only_tools(world):
    client = Client()
    client.force_login(world.users["a_auditor"])
    tools = [t.url for t in client.get("/").context["tools"]]
    assert "/entry/" not in tools and "/admin/" in tools


def test_anonymous_visitors_see_the_sign_in_link(db):
    assert "/login/" in Client().get("/").content.decode()


def test_case_tools_and_counts_for_handlers_and_agencies_not_for_window_staff(world):
    from tests.cases_helpers import open_bad_review

    open_bad_review(world)
    for username, expected in (("a_handler", True), ("a_admin", True), ("a_clerk", False)):
        client = Client()
        client.force_login(world.users[username])
        r = client.get("/")
        tools = [t.url for t in r.context["tools"]]
        assert ("/cases/" in tools) is expected, username
        assert (r.context["cases"] is not None) is expected, username
    client = Client()
    client.force_login(world.users["a_admin"])
    assert client.get("/").context["cases"]["open"] == 1
