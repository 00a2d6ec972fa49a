"""zh-hans is the default language whatever the browser asks for; English is chosen with the switch."""

from __future__ import annotations

from django.test import Client


def test_it_answers_in_chinese_to_an_english_browser(db):
    r = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").get("/admin/login/")
    assert r.status_code == 200 and "用户名" in r.content.decode()


def test_it_switches_to_english_with_the_language_switch(db):
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Username" in client.get("/admin/login/").content.decode()
