"""The embeddable 一事一评 widget: framing limited to the registering system's origins, offers, rating, 410, 429."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import ALL_SCOPE
from haochaping.lib.origins import origins_parse
from haochaping.ratings import views
from haochaping.ratings.models import EvaluationToken, Rating, RatingOffer
from haochaping.ratings.services import service_case_register

ORIGINS = "https://zwfw.example.gov.cn\n\nhttps://app.example.gov.cn:8443/\n"


def frame_ancestors(response) -> str:
    """The frame-ancestors directive of the page's Content-Security-Policy (the rest is the site's policy)."""
    directives = [d.strip() for d in response["Content-Security-Policy"].split(";")]
    return next(d for d in directives if d.startswith("frame-ancestors"))


def key_of(secret: str) -> ApiKey:
    return ApiKey.objects.get(prefix=secret[4:12])


def register(world, case_no="WB-1", origins: str | None = ORIGINS, online=True):
    key = key_of(world.key_a)
    if origins is not None:
        key.allowed_origins = origins
        key.save(update_fields=["allowed_origins"])
    return service_case_register(
        scope=ALL_SCOPE,
        case_no=case_no,
        item_code=world.a.item.implementation_code,
        staff_code=world.a.clerk.code,
        online=online,
        api_key=key,
    )


def test_it_renders_the_widget_framable_only_by_the_keys_origins(world):
    reg = register(world)
    r = Client().get(f"/r/{reg.token}/embed/?origin=https://zwfw.example.gov.cn")
    assert r.status_code == 200
    page = r.content.decode()
    assert "请您对本次服务进行评价" in page and world.a.item.name in page
    for label in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert label in page
    assert frame_ancestors(r) == "frame-ancestors https://zwfw.example.gov.cn https://app.example.gov.cn:8443"
    assert "X-Frame-Options" not in r
    assert '"target": "https://zwfw.example.gov.cn"' in page  # postMessage goes to the allowed embedding origin
    assert "csrfmiddlewaretoken" not in page and not r.cookies  # third-party iframes often get no cookies


def test_it_allows_only_self_when_the_key_has_no_origins(world):
    reg = register(world, origins="")
    r = Client().get(f"/r/{reg.token}/embed/?origin=https://evil.example.com")
    assert r.status_code == 200
    assert frame_ancestors(r) == "frame-ancestors 'self'"
    assert "evil.example.com" not in r.content.decode()  # an origin not on the list is never addressed


def test_it_takes_the_embedding_origin_from_the_referer_when_not_given(world):
    reg = register(world)
    r = Client().get(f"/r/{reg.token}/embed/", HTTP_REFERER="https://app.example.gov.cn:8443/some/page")
    assert '"target": "https://app.example.gov.cn:8443"' in r.content.decode()


def test_it_records_a_widget_offer_on_each_showing(world):
    reg = register(world)
    Client().get(f"/r/{reg.token}/embed/")
    Client().get(f"/r/{reg.token}/embed/?mobile=1")
    offers = list(RatingOffer.objects.order_by("id").values_list("kind", "channel", "service_case__case_no"))
    assert offers == [("widget", "pc", "WB-1"), ("widget", "app", "WB-1")]


def test_it_stores_a_pc_rating_marks_the_token_used_and_tells_the_host(world):
    reg = register(world)
    url = f"/r/{reg.token}/embed/?origin=https://zwfw.example.gov.cn"
    r = Client(enforce_csrf_checks=True).post(url, {"grade": "satisfied", "comment": "网上办很方便"})
    assert r.status_code == 200
    rating = Rating.objects.get()
    assert rating.channel == "pc" and rating.grade == 4 and rating.comment == "网上办很方便"
    assert EvaluationToken.objects.get().used_at is not None
    page = r.content.decode()
    assert "感谢您的评价" in page and '"type": "haochaping:rated"' in page
    assert f'"rating_id": "{rating.public_id}"' in page and '"grade": "satisfied"' in page
    assert frame_ancestors(r).startswith("frame-ancestors https://zwfw.example.gov.cn")


def test_a_double_press_stores_one_rating(world):
    reg = register(world)
    data = {"grade": "basic", "idempotency_key": "widget-1"}
    first = Client().post(f"/r/{reg.token}/embed/", data)
    again = Client().post(f"/r/{reg.token}/embed/", data)
    assert first.status_code == again.status_code == 200 and "感谢您的评价" in again.content.decode()
    rating = Rating.objects.get()
    assert f'"rating_id": "{rating.public_id}"' in again.content.decode()
    other = Client().post(f"/r/{reg.token}/embed/", {"grade": "basic", "idempotency_key": "widget-2"})
    assert other.status_code == 410 and Rating.objects.count() == 1


def test_it_rates_through_the_app_channel_when_mobile(world):
    reg = register(world)
    assert Client().post(f"/r/{reg.token}/embed/?mobile=1", {"grade": "basic"}).status_code == 200
    assert Rating.objects.get().channel == "app"


def test_it_shows_form_errors_and_keeps_the_token(world):
    reg = register(world)
    r = Client().post(f"/r/{reg.token}/embed/", {"grade": "nope"})
    assert r.status_code == 422 and 'role="alert"' in r.content.decode()
    assert EvaluationToken.objects.get().used_at is None


def test_a_used_token_answers_410_and_still_reaches_the_host(world):
    reg = register(world)
    assert Client().post(f"/r/{reg.token}/embed/", {"grade": "satisfied"}).status_code == 200
    r = Client().get(f"/r/{reg.token}/embed/?origin=https://zwfw.example.gov.cn")
    assert r.status_code == 410
    page = r.content.decode()
    assert "已使用" in page and '"type": "haochaping:unavailable"' in page
    assert frame_ancestors(r).startswith("frame-ancestors https://zwfw.example.gov.cn")
    assert Client().post(f"/r/{reg.token}/embed/", {"grade": "satisfied"}).status_code == 410
    assert Rating.objects.count() == 1


def test_an_unknown_token_answers_404_framable_by_self_only(world):
    r = Client().get("/r/not-a-token/embed/")
    assert r.status_code == 404 and frame_ancestors(r) == "frame-ancestors 'self'"


def test_it_rate_limits_per_ip_with_a_429_page(world, monkeypatch):
    # The widget shares the per-address budget of every public token page (ratings.views).
    monkeypatch.setattr(views, "TOKEN_REQUESTS_PER_10_MIN", 5)
    monkeypatch.setattr(views, "TOKEN_POSTS_PER_10_MIN", 1)
    reg = register(world)
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert [client.get(f"/r/{reg.token}/embed/").status_code for _ in range(3)] == [200, 200, 200]
    assert client.post(f"/r/{reg.token}/embed/", {"grade": "nope"}).status_code == 422
    r = client.post(f"/r/{reg.token}/embed/", {"grade": "satisfied"})
    assert r.status_code == 429 and "请求过于频繁" in r.content.decode() and int(r["Retry-After"]) > 0
    assert frame_ancestors(r).startswith("frame-ancestors https://zwfw.example.gov.cn")
    assert client.get(f"/r/{reg.token}/embed/").status_code == 429
    assert Client(REMOTE_ADDR="203.0.113.10").get(f"/r/{reg.token}/embed/").status_code == 200  # per address
    assert Rating.objects.count() == 0 and RatingOffer.objects.count() == 4


def test_it_parses_and_validates_allowed_origins():
    assert origins_parse(ORIGINS + "HTTPS://ZWFW.example.gov.cn") == [
        "https://zwfw.example.gov.cn",
        "https://app.example.gov.cn:8443",
    ]
    for bad in ("zwfw.example.gov.cn", "https://*.example.gov.cn", "https://a.example/path", "javascript:alert(1)"):
        with pytest.raises(ValidationError):
            origins_parse(bad)


def test_the_admin_shows_and_stores_allowed_origins(world):
    client = Client()
    client.force_login(world.users["root"])
    assert "allowed_origins" in client.get("/admin/accounts/apikey/add/").content.decode()
    data = {"name": "网上办事大厅", "unit": world.a.dept.pk, "allowed_origins": "https://zwfw.example.gov.cn"}
    r = client.post("/admin/accounts/apikey/add/", data)
    assert r.status_code == 302
    assert ApiKey.objects.get(name="网上办事大厅").allowed_origins == "https://zwfw.example.gov.cn"
    key = key_of(world.key_a)
    r = client.post(
        f"/admin/accounts/apikey/{key.pk}/change/",
        {"name": key.name, "unit": world.a.dept.pk, "allowed_origins": "https://ok.example.cn\nhttps://*.bad.cn"},
    )
    assert r.status_code == 200 and "https://*.bad.cn" in r.content.decode()
    key.refresh_from_db()
    assert key.allowed_origins == ""
