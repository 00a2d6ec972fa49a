"""/hotline/: links and work orders for supervisors in scope; links edited by system and agency administrators."""

from __future__ import annotations

from haochaping.hotline import outbound
from haochaping.hotline.models import HotlineLink, WorkOrder
from haochaping.lib import protect
from tests.cases_helpers import open_bad_review
from tests.test_hotline import _link


def test_agency_admin_edits_own_region_link_credential_never_shown(world, client):
    client.force_login(world.users["a_admin"])
    url = f"/hotline/links/{world.a.region.pk}/"
    assert client.get(url).status_code == 200
    data = {"endpoint": "https://12345.example.gov.cn/api", "enabled": "1", "credential": "TopSecret-1"}
    r = client.post(url, data)
    assert r.status_code == 302
    link = HotlineLink.objects.get(region=world.a.region)
    assert link.enabled and not link.include_complaints and protect.decrypt(link.credential_enc) == "TopSecret-1"
    assert link.updated_by == world.users["a_admin"]
    for page in (client.get(url), client.get("/hotline/")):
        assert "TopSecret-1" not in page.content.decode() and link.credential_enc not in page.content.decode()
    # Empty credential keeps it; a bad address is refused naming the field.
    client.post(url, {**data, "credential": ""})
    link.refresh_from_db()
    assert protect.decrypt(link.credential_enc) == "TopSecret-1"
    r = client.post(url, {**data, "endpoint": "not a url"})
    assert r.status_code == 422 and "热线接口地址" in r.content.decode()
    # Another county's region: 404; the city above: out of a county admin's scope too.
    assert client.post(f"/hotline/links/{world.b.region.pk}/", data).status_code == 404
    assert client.get(f"/hotline/links/{world.city.pk}/").status_code == 404


def test_readers_and_refused(world, client):
    client.force_login(world.users["a_inspector"])
    assert client.get("/hotline/").status_code == 200
    assert client.post(f"/hotline/links/{world.a.region.pk}/", {"endpoint": "https://x.example"}).status_code == 403
    assert not HotlineLink.objects.exists()
    for user in ("a_handler", "a_clerk", "nobody"):
        client.force_login(world.users[user])
        assert client.get("/hotline/").status_code == 403


def test_page_shows_orders_in_scope_with_state_and_backoff(world, client):
    _link(world.city, "http://127.0.0.1:9/nowhere")
    case_a = open_bad_review(world)
    outbound.send_pending()  # unreachable: backing off
    order = WorkOrder.objects.get(case=case_a)
    assert order.attempts == 1
    client.force_login(world.users["a_admin"])
    html = client.get("/hotline/").content.decode()
    assert order.order_no in html and "重试等待中" in html and "杭州市" in html
    client.force_login(world.users["b_admin"])
    assert order.order_no not in client.get("/hotline/").content.decode()
    client.force_login(world.users["root"])
    r = client.get("/hotline/", {"region": world.a.region.code})
    assert r.status_code == 302 and r["Location"] == f"/hotline/links/{world.a.region.pk}/"
