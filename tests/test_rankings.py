"""Fair rankings: Wilson bounds, minimum volume, peer bands, ties, scope and the page's parameters."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from haochaping.accounts.scope import ALL_SCOPE, scope_for_user
from haochaping.analytics.metrics import Counts
from haochaping.analytics.models import StaffMonth, UnitMonth
from haochaping.analytics.rankings import bands_for, rank, rank_counts, wilson_interval
from haochaping.analytics.views_rankings import last_twelve_months
from haochaping.directory.models import Organisation, Staff
from haochaping.lib.uscc import make_uscc

pytestmark = pytest.mark.django_db

START, END = date(2026, 1, 1), date(2026, 6, 30)
MONTH = date(2026, 3, 1)


def counts(good: int = 0, basic: int = 0, bad: int = 0, *, defaults: int = 0, out: int = 0) -> Counts:
    c = Counts()
    c.act[5], c.act[3], c.act[1] = good, basic, bad
    c.default[3] = defaults
    c.out[1] = out
    return c


def cube_row(model, *, region, unit, good=0, basic=0, bad=0, defaults=0, out=0, month=MONTH, **dims):
    extra = {"channel": "qr", "rater_kind": 1} if "channel" in model.DIMENSIONS else {}
    return model.objects.create(
        month=month,
        region_id=region.id,
        unit_id=unit.id,
        act_5=good,
        act_3=basic,
        act_1=bad,
        def_3=defaults,
        out_1=out,
        **extra,
        **dims,
    )


def new_unit(county, serial: int, name: str) -> Organisation:
    r6 = county.region.code[:6]
    return Organisation.objects.create(
        uscc=make_uscc("1", "1", r6, f"{serial:04d}0009"), name=name, region=county.region
    )


def login(name: str) -> Client:
    client = Client()
    assert client.login(username=name, password="pw-" + name)
    return client


# --- the method, without a database -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "lower", "upper"),
    [
        (3, 3, 0.4385, 1.0),
        (2910, 3000, 0.9633, 0.9755),
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (81, 100, 0.7222, 0.8749),
    ],
)
def test_wilson_interval_matches_known_values(k, n, lower, upper):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(lower, abs=1e-4) and hi == pytest.approx(upper, abs=1e-4)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_wilson_interval_of_nothing_is_none():
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(4, 3)


def test_three_perfect_ratings_do_not_top_three_thousand_at_97_percent():
    rows = {1: counts(good=3), 2: counts(good=2910, bad=90)}
    ranked, not_ranked, _ = rank_counts(rows, metric="good", min_ratings=1)
    assert [e.key for e in ranked] == [2, 1]
    small = ranked[1]
    assert small.point == 1.0 and small.lower == pytest.approx(0.4385, abs=1e-4) and small.upper == 1.0
    assert ranked[0].rank == 1 and small.rank == 2 and not not_ranked


def test_minimum_volume_lists_small_entities_apart():
    rows = {1: counts(good=29), 2: counts(good=30), 3: counts(defaults=500)}
    ranked, not_ranked, _ = rank_counts(rows, metric="good", min_ratings=30)
    assert [e.key for e in ranked] == [2]
    assert {e.key: e.active for e in not_ranked} == {1: 29, 3: 0}
    assert all(e.rank is None and e.band is None for e in not_ranked)


def test_default_and_set_aside_ratings_are_in_no_score():
    ranked, _, _ = rank_counts({1: counts(good=40, bad=10, defaults=1000, out=500)}, metric="good", min_ratings=1)
    assert ranked[0].active == 50 and ranked[0].point == pytest.approx(0.8)


def test_peer_bands_rank_within_similar_volume():
    assert [b.label for b in bands_for(20)] == ["20–99", "100–999", "≥1000"]
    assert [b.label for b in bands_for(500)] == ["500–999", "≥1000"]
    assert [b.label for b in bands_for(5000)] == ["≥5000"]
    rows = {
        1: counts(good=2950, bad=50),  # big, 98.3%
        2: counts(good=95, bad=5),  # 100 ratings: middle band
        3: counts(good=50),  # small, perfect
        4: counts(good=40, bad=10),  # small
        5: counts(good=900, bad=100),  # 1000: big band
    }
    ranked, _, _ = rank_counts(rows, metric="good", min_ratings=20)
    by_key = {e.key: e for e in ranked}
    assert [e.key for e in ranked] == [1, 3, 2, 5, 4]
    assert [e.rank for e in ranked] == [1, 2, 3, 4, 5]
    assert {k: (e.band.label, e.band_rank) for k, e in by_key.items()} == {
        1: ("≥1000", 1),
        5: ("≥1000", 2),
        2: ("100–999", 1),
        3: ("20–99", 1),
        4: ("20–99", 2),
    }


def test_ties_share_a_rank_competition_style():
    rows = {1: counts(good=100), 2: counts(good=90, bad=10), 3: counts(good=90, bad=10), 4: counts(good=50, bad=50)}
    ranked, _, _ = rank_counts(rows, metric="good", min_ratings=1)
    assert [e.rank for e in ranked] == [1, 2, 2, 4]
    assert ranked[1].score == ranked[2].score


def test_bad_metric_ranks_worst_first_by_upper_bound():
    rows = {1: counts(good=3, bad=1), 2: counts(good=900, bad=100), 3: counts(good=1000)}
    ranked, _, _ = rank_counts(rows, metric="bad", min_ratings=1)
    # 1 bad in 4 could be anything up to ~70%: it is the one to look at, before 10% of 1000.
    assert [e.key for e in ranked] == [1, 2, 3]
    assert ranked[0].score == pytest.approx(round(wilson_interval(1, 4)[1], 4))
    assert ranked[1].point == pytest.approx(0.1) and ranked[1].hits == 100


# --- from the rollups ---------------------------------------------------------------------------------


def test_rank_units_from_the_rollups(world):
    small = new_unit(world.a, 7, "上城区小单位")
    cube_row(UnitMonth, region=world.a.region, unit=small, good=3)
    cube_row(UnitMonth, region=world.a.region, unit=world.a.dept, good=2910, bad=90)
    cube_row(UnitMonth, region=world.b.region, unit=world.b.dept, good=30, bad=10)
    result = rank(ALL_SCOPE, "unit", START, END, min_ratings=1)
    assert [e.name for e in result.ranked] == [world.a.dept.name, world.b.dept.name, small.name]
    assert result.ranked[0].detail == world.a.region.name
    assert not result.whole_months
    default = rank(ALL_SCOPE, "unit", START, END)  # unit minimum 30
    assert [e.key for e in default.ranked] == [world.a.dept.id, world.b.dept.id]
    assert [e.key for e in default.not_ranked] == [small.id]


def test_staff_window_hall_rankings_are_per_whole_months_and_skip_no_entity(world):
    a, b = world.a, world.b
    other = Staff.objects.create(code="S33010299", name="李四", unit=a.dept, window=a.window)
    dims = {"hall_id": a.hall.id, "window_id": a.window.id}
    cube_row(StaffMonth, region=a.region, unit=a.dept, good=30, staff_id=a.clerk.id, **dims)
    cube_row(StaffMonth, region=a.region, unit=a.dept, good=20, bad=10, staff_id=other.id, **dims)
    cube_row(StaffMonth, region=a.region, unit=a.dept, good=5, staff_id=0, **dims)
    cube_row(StaffMonth, region=b.region, unit=b.dept, good=8, staff_id=0, hall_id=0, window_id=0)
    result = rank(ALL_SCOPE, "staff", date(2026, 3, 10), date(2026, 3, 20))
    assert (result.start, result.end, result.whole_months) == (date(2026, 3, 1), date(2026, 3, 31), True)
    assert [(e.name, e.detail) for e in result.ranked] == [("王小明", a.dept.name), ("李四", a.dept.name)]
    assert result.excluded_none == 13 and not result.not_ranked
    windows = rank(ALL_SCOPE, "window", START, END)
    assert [e.key for e in windows.ranked] == [a.window.id] and windows.ranked[0].active == 65
    assert windows.ranked[0].name == f"{a.hall.name}·{a.window.code}（{a.window.name}）"
    halls = rank(ALL_SCOPE, "hall", START, END)
    assert [e.key for e in halls.ranked] == [a.hall.id] and halls.excluded_none == 8


def test_scope_county_b_sees_no_county_a(world):
    a, b = world.a, world.b
    cube_row(UnitMonth, region=a.region, unit=a.dept, good=100)
    cube_row(UnitMonth, region=b.region, unit=b.dept, good=50)
    cube_row(
        StaffMonth, region=a.region, unit=a.dept, good=40, staff_id=a.clerk.id, hall_id=a.hall.id, window_id=a.window.id
    )
    cube_row(
        StaffMonth, region=b.region, unit=b.dept, good=40, staff_id=b.clerk.id, hall_id=b.hall.id, window_id=b.window.id
    )
    for level in ("unit", "hall", "window", "staff"):
        result = rank(scope_for_user(world.users["b_admin"]), level, START, END, min_ratings=1)
        assert result.ranked and all(e.detail in (b.region.name, b.dept.name) for e in result.ranked), level
    page = login("b_admin").get("/analytics/rankings/", {"start": "2026-01-01", "end": "2026-06-30"})
    assert page.status_code == 200
    text = page.content.decode()
    assert b.dept.name in text and a.dept.name not in text
    page = login("b_admin").get("/analytics/rankings/", {"level": "staff", "start": "2026-01-01", "end": "2026-06-30"})
    assert "王小明" in page.content.decode() and a.dept.name not in page.content.decode()
    dept_page = login("a_dept_admin").get("/analytics/rankings/", {"start": "2026-01-01", "end": "2026-06-30"})
    assert dept_page.status_code == 200 and a.dept.name in dept_page.content.decode()
    assert b.dept.name not in dept_page.content.decode()


@pytest.mark.parametrize("who", ["a_clerk", "a_handler", "nobody"])
def test_window_staff_and_others_get_403(world, who):
    response = login(who).get("/analytics/rankings/")
    assert response.status_code == 403
    assert "web/message.html" in [t.name for t in response.templates]


def test_anonymous_goes_to_login(world):
    response = Client().get("/analytics/rankings/")
    assert response.status_code == 302


@pytest.mark.parametrize("who", ["root", "city_admin", "a_admin", "a_inspector", "a_auditor", "a_dept_admin"])
def test_supervisors_see_the_page_with_the_method(world, who):
    response = login(who).get("/analytics/rankings/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "威尔逊" in text and "样本不足，不参与排名" in text


def test_default_period_is_the_last_twelve_whole_months(world):
    assert last_twelve_months(date(2026, 11, 26)) == (date(2025, 11, 1), date(2026, 10, 31))
    assert last_twelve_months(date(2026, 1, 1)) == (date(2025, 1, 1), date(2025, 12, 31))
    from django.utils import timezone

    start, end = last_twelve_months(timezone.localdate())
    cube_row(UnitMonth, region=world.a.region, unit=world.a.dept, good=40, month=end.replace(day=1))
    response = login("root").get("/analytics/rankings/")
    assert response.context["result"].start == start and response.context["result"].end == end
    assert [r["name"] for r in response.context["ranked"]] == [world.a.dept.name]


def test_page_shows_rank_band_interval_and_bound(world):
    cube_row(UnitMonth, region=world.a.region, unit=world.a.dept, good=2910, bad=90)
    response = login("root").get(
        "/analytics/rankings/", {"level": "unit", "metric": "good", "start": "2026-01-01", "end": "2026-06-30"}
    )
    row = response.context["ranked"][0]
    assert row["rank"] == 1 and row["band_rank"] == 1 and row["band"] == "≥1000"
    assert row["point"] == "97.00%" and row["score"] == "96.33%" and row["interval"] == "[96.33%, 97.55%]"
    bad = login("root").get("/analytics/rankings/", {"metric": "bad", "start": "2026-01-01", "end": "2026-06-30"})
    assert bad.context["ranked"][0]["point"] == "3.00%"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"level": "building"}, "level"),
        ({"metric": "ugly"}, "metric"),
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-06-01", "end": "2026-01-01"}, "end"),
        ({"min_ratings": "0"}, "min_ratings"),
        ({"min_ratings": "10001"}, "min_ratings"),
        ({"min_ratings": "abc"}, "min_ratings"),
    ],
)
def test_bad_params_are_a_400_naming_the_field(world, params, field):
    response = login("a_admin").get("/analytics/rankings/", params)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert str(response.context["form"].fields[field].label) in response.content.decode()


def test_rank_rejects_bad_arguments(world):
    with pytest.raises(ValueError):
        rank(ALL_SCOPE, "building", START, END)
    with pytest.raises(ValueError):
        rank(ALL_SCOPE, "unit", START, END, metric="ugly")
    with pytest.raises(ValueError):
        rank(ALL_SCOPE, "unit", START, END, min_ratings=0)
