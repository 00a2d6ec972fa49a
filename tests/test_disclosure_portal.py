"""The public portal's figure pages (/open/): the same figures as the rollups, drill-down, suppression, search,
fair rankings, the integrity page, caching; no staff names; well-formed, light pages."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import scope_for_api_key
from haochaping.analytics.selectors import Slice, counts_by
from haochaping.directory.models import Organisation
from haochaping.disclosure import periods, portal
from haochaping.lib.uscc import make_uscc
from haochaping.ratings.intake import submit_ratings
from haochaping.seal import chain
from haochaping.seal.models import Block

pytestmark = pytest.mark.django_db

GRADES = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"]
PAGE_BUDGET = 60_000


def _rate(world, unit: Organisation, n: int, *, item: bool = False, window: bool = False, defaults: int = 0):
    """n ratings of ``unit`` through the real intake (the city's key), most of them good, a few bad."""
    from haochaping.accounts.models import ApiKey

    key = ApiKey.objects.get(name="杭州市统一受理平台")
    now = timezone.now()
    items = []
    for i in range(n + defaults):
        row = {
            "grade": "basic" if i >= n else GRADES[0 if i % 7 else 3],
            "channel": "qr",
            "unit_uscc": unit.uscc,
            "rated_at": (now - timedelta(minutes=i)).isoformat(),
            "is_default": i >= n,
        }
        if item:
            row["item_code"] = world.a.item.implementation_code
        if window:
            row["window"] = {"hall": world.a.hall.code, "code": world.a.window.code}
            row["staff_code"] = world.a.clerk.code
        items.append(row)
    results = submit_ratings(items, scope=scope_for_api_key(key), client="test")
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]


@pytest.fixture
def rated(world):
    """County A: its department 40 ratings (+5 default) through the hall, window, clerk and 事项; its agency 12;
    a small unit 4 (primary suppression), so the agency is suppressed too (secondary). County B's department: 3."""
    world.small = Organisation.objects.create(
        uscc=make_uscc("1", "1", "330102", "00010003"), name="上城区档案馆", region=world.a.region
    )
    _rate(world, world.a.dept, 40, item=True, window=True, defaults=5)
    _rate(world, world.a.agency, 12)
    _rate(world, world.small, 4)
    _rate(world, world.b.dept, 3)
    cache.clear()
    return world


def _get(client: Client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response


class _Outline(HTMLParser):
    """Headings, tables, captions and th scopes of a page (the structural part of the accessibility rules)."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.tables = self.captions = self.th = self.th_scoped = self.svgs = self.svg_titles = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        a = dict(attrs)
        if tag in ("h1", "h2", "h3", "h4"):
            self.headings.append(int(tag[1]))
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "th":
            self.th += 1
            self.th_scoped += "scope" in a
        elif tag == "svg":
            self.svgs += 1
            assert a.get("role") == "img" and a.get("aria-labelledby")
        elif tag == "title":
            self.svg_titles += 1


def _check_page(response) -> str:
    body = response.content.decode()
    assert len(response.content) < PAGE_BUDGET
    assert '<html lang="' in body and "<script" not in body.split("</head>")[1]
    outline = _Outline()
    outline.feed(body)
    assert outline.headings.count(1) == 1 and outline.headings[0] == 1
    for before, after in zip(outline.headings, outline.headings[1:], strict=False):
        assert after <= before + 1, outline.headings  # no skipped level
    assert outline.tables == outline.captions and outline.th == outline.th_scoped
    assert outline.svg_titles >= outline.svgs + 1  # the page's <title> and one per chart
    assert "王小明" not in body  # never a staff name
    assert response["Cache-Control"] == "private, max-age=60"
    return body


def test_province_page_shows_the_rollup_figures_for_the_period(rated, client):
    response = _get(client, "/open/")
    body = _check_page(response)
    period = periods.parse(None)
    total = counts_by(Slice(period.start, period.end, region_path=rated.province.path)).total
    kpis = response.context["data"]["kpis"]
    assert kpis["counted"] == total.counted == 64
    assert kpis["good_rate"] == total.good_rate() and kpis["bad_rate"] == total.bad_rate()
    assert kpis["score"] == total.score() and kpis["default_share"] == 5 / 64
    assert f"<dd>{total.counted:,}<span" in body
    assert portal.pct(total.good_rate()) in body and portal.pct(5 / 64) in body
    assert "统计期间" in body and "本月截至今日" in body and "数据更新于" in body and "每 5 分钟更新" in body
    assert "默认评价占比" in body and 'href="/open/integrity/"' in body
    # the case figures: the 差评 of the ratings above opened cases
    assert response.context["data"]["cases"]["opened"] > 0
    # the monthly trend: the chart and the same numbers in a table
    assert "<svg" in body and "每月评价数、好评率、差评率" in body
    # drill: the city
    assert f'href="/open/region/{rated.city.code}/"' in body


def test_drill_region_to_unit_to_item(rated, client):
    city = _check_page(_get(client, f"/open/region/{rated.city.code}/"))
    assert f'href="/open/region/{rated.a.region.code}/"' in city and "浙江省" in city  # child and breadcrumb
    county = _check_page(_get(client, f"/open/region/{rated.a.region.code}/"))
    assert f'href="/open/unit/{rated.a.dept.pk}/"' in county
    response = _get(client, f"/open/unit/{rated.a.dept.pk}/")
    unit = _check_page(response)
    assert response.context["data"]["kpis"]["counted"] == 45
    assert f'href="/open/item/{rated.a.item.pk}/"' in unit and f'href="/open/hall/{rated.a.hall.pk}/"' in unit
    assert f"/open/rectifications/?unit={rated.a.dept.pk}" in unit
    response = _get(client, f"/open/item/{rated.a.item.pk}/")
    item = _check_page(response)
    assert response.context["data"]["kpis"]["counted"] == 45 and "食品经营许可" in item
    response = _get(client, f"/open/hall/{rated.a.hall.pk}/")
    hall = _check_page(response)
    assert response.context["data"]["kpis"]["counted"] == 45
    assert "市场准入" in hall and "王小明" not in hall and rated.a.clerk.code not in hall


def test_period_is_kept_in_drill_links_and_validated(rated, client):
    month = f"{timezone.localdate():%Y-%m}"
    body = _get(client, f"/open/region/{rated.a.region.code}/?period={month}").content.decode()
    assert f'href="/open/unit/{rated.a.dept.pk}/?period={month}"' in body
    for bad in ("2026-13", "tomorrow", "2999"):
        body = _get(client, f"/open/?period={bad}", 400).content.decode()
        assert "period" in body and "统计期间" in body
    assert "period" in _get(client, f"/open/unit/{rated.a.dept.pk}/?period=x", 400).content.decode()


def test_small_cells_are_suppressed_primary_and_secondary(rated, client):
    response = _get(client, f"/open/region/{rated.a.region.code}/")
    rows = {r["key"]: r for r in response.context["data"]["units"]["rows"]}
    assert rows[rated.small.pk]["suppressed"] and rows[rated.small.pk]["fig"] is None  # 4 < k: primary
    assert rows[rated.a.agency.pk]["suppressed"] and rows[rated.a.agency.pk]["counted"] is None  # secondary
    assert not rows[rated.a.dept.pk]["suppressed"]
    body = response.content.decode()
    assert body.count("样本不足") >= 2
    # a unit whose own page holds fewer than k ratings shows a notice and no figures
    response = _get(client, f"/open/unit/{rated.b.dept.pk}/")
    body = _check_page(response)
    assert response.context["data"]["kpis"]["suppressed"]
    assert "样本不足" in body and "评价数</dt>" not in body
    # county B as a whole: 3 ratings
    assert _get(client, f"/open/region/{rated.b.region.code}/").context["data"]["kpis"]["suppressed"]


def test_unknown_or_inactive_objects_are_404(rated, client):
    _get(client, "/open/region/999999999999/", 404)
    _get(client, "/open/region/abc/", 404)
    _get(client, "/open/unit/999999/", 404)
    _get(client, "/open/hall/999999/", 404)
    _get(client, "/open/item/999999/", 404)
    rated.small.is_active = False
    rated.small.save()
    _get(client, f"/open/unit/{rated.small.pk}/", 404)
    cache.clear()
    body = _get(client, f"/open/region/{rated.a.region.code}/").content.decode()
    assert "上城区档案馆" not in body


def test_search(rated, client):
    body = _check_page(_get(client, "/open/search/"))
    assert 'name="q"' in body and "<label" in body
    body = _get(client, "/open/search/?q=食品").content.decode()
    assert f'href="/open/item/{rated.a.item.pk}/"' in body
    body = _get(client, f"/open/search/?q={rated.a.item.implementation_code}").content.decode()
    assert f'href="/open/item/{rated.a.item.pk}/"' in body
    body = _get(client, "/open/search/?q=市场监督").content.decode()
    assert f'href="/open/unit/{rated.a.dept.pk}/"' in body and f'href="/open/unit/{rated.b.dept.pk}/"' in body
    body = _get(client, "/open/search/?q=上城").content.decode()
    assert f'href="/open/region/{rated.a.region.code}/"' in body and f'href="/open/hall/{rated.a.hall.pk}/"' in body
    body = _get(client, "/open/search/?q=" + "x" * 51, 400).content.decode()
    assert "<strong>q</strong>" in body
    response = _get(client, "/open/search/?q=王小明")  # staff are not searchable: only the query is echoed
    assert response.content.decode().count("王小明") == 1 and not any(response.context["results"].values())


def test_rankings(rated, client):
    response = _get(client, f"/open/rankings/?region={rated.city.code}")
    body = _check_page(response)
    data = response.context["data"]
    assert [e["key"] for e in data["ranked"]] == [rated.a.dept.pk]  # 40 active ≥ 30
    assert {e["key"] for e in data["not_ranked"]} == {rated.a.agency.pk, rated.small.pk, rated.b.dept.pk}
    assert "威尔逊" in body and "样本不足不参与排名" in body
    body = _get(client, f"/open/rankings/?region={rated.a.region.code}&level=hall&metric=bad").content.decode()
    assert "王小明" not in body
    for query, field in (
        ("level=staff", "level"),
        ("metric=best", "metric"),
        ("region=1", "region"),
        ("period=x", "period"),
    ):
        assert f"<strong>{field}</strong>" in _get(client, f"/open/rankings/?{query}", 400).content.decode()


def test_integrity_page_shows_the_daily_digest(rated, client):
    chain.append_blocks()
    block = Block.objects.order_by("-id").first()
    body = _check_page(_get(client, "/open/integrity/"))
    assert block.hash in body and "haochaping verify" in body and "默认评价占比" in body
    cache.clear()
    body = _get(client, "/open/").content.decode()
    assert block.hash[:12] in body


def test_figures_are_cached_and_say_when_computed(rated, client):
    first = _get(client, f"/open/unit/{rated.a.dept.pk}/").context
    _rate(rated, rated.a.dept, 2)
    second = _get(client, f"/open/unit/{rated.a.dept.pk}/").context
    assert second["data"]["kpis"]["counted"] == first["data"]["kpis"]["counted"] == 45
    assert second["computed_at"] == first["computed_at"]
    cache.clear()
    assert _get(client, f"/open/unit/{rated.a.dept.pk}/").context["data"]["kpis"]["counted"] == 47


def test_head_and_elderly_mode(rated, client):
    assert client.head("/open/").status_code == 200
    client.cookies["hcp_elderly"] = "1"
    body = _get(client, "/open/").content.decode()
    assert 'class="elderly"' in body


def test_several_top_regions_are_listed(rated, client):
    from haochaping.directory.models import Region

    Region.objects.create(code="320000000000", name="江苏省")
    body = _check_page(_get(client, "/open/"))
    assert 'href="/open/region/320000000000/"' in body and f'href="/open/region/{rated.province.code}/"' in body
