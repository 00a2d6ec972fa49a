"""评价率 and 邀评转化率: the uptake rollups follow 办件 completion, first ratings and offers, and stay exact."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.analytics import rollups
from haochaping.analytics.models import CompletionDay, OfferDay
from haochaping.analytics.uptake import Uptake, uptake_for
from haochaping.ratings.codes import CaseStatus, Grade, Stage
from haochaping.ratings.defaults import default_ratings_sweep
from haochaping.ratings.intake import submit_one
from haochaping.ratings.models import DefaultRatingPolicy
from haochaping.ratings.offers import offer_record
from haochaping.ratings.services import service_case_register


def _register(world, case_no: str, *, status=CaseStatus.ACCEPTED, days_ago: float = 0, county=None):
    county = county or world.a
    return service_case_register(
        scope=ALL_SCOPE,
        case_no=case_no,
        item_code=county.item.implementation_code,
        status=status,
        completed_at=timezone.now() - timedelta(days=days_ago) if status == CaseStatus.COMPLETED else None,
    ).case


def _rate(case_no: str, stage: str, grade: str = "satisfied", *, is_default: bool = False) -> None:
    item = {"case_no": case_no, "stage": stage, "grade": grade, "channel": "pc", "is_default": is_default}
    result = submit_one(item, scope=ALL_SCOPE, client="test")
    assert result.ok, result.message


def _totals() -> tuple[int, int, int]:
    rows = CompletionDay.objects.all()
    return (sum(r.completed for r in rows), sum(r.rated for r in rows), sum(r.rated_any for r in rows))


def test_completion_and_first_rating_count_once(world):
    _register(world, "UP-1")
    assert _totals() == (0, 0, 0)  # accepted, not completed: not in the denominator
    _rate("UP-1", Stage.ACCEPT)  # rated before completion
    _register(world, "UP-1", status=CaseStatus.COMPLETED, days_ago=1)
    assert _totals() == (1, 1, 1)
    _rate("UP-1", Stage.COMPLETE)  # a second rating of the same 办件 does not count it twice
    _register(world, "UP-2", status=CaseStatus.COMPLETED, days_ago=1)
    assert _totals() == (2, 1, 1)
    _register(world, "UP-2", status=CaseStatus.COMPLETED, days_ago=1)  # a retry of the same registration
    assert _totals() == (2, 1, 1)
    _rate("UP-2", Stage.COMPLETE, "basic")
    assert _totals() == (2, 2, 2)
    assert rollups.verify() == []
    day = (timezone.localtime() - timedelta(days=1)).date()
    u = uptake_for(day - timedelta(days=1), day + timedelta(days=1))
    assert (u.completed, u.rated, u.rating_rate()) == (2, 2, 1.0)


def test_a_default_rating_counts_only_with_default(world):
    DefaultRatingPolicy.objects.create(region=world.city, after_days=7, grade=Grade.BASIC, enabled=True)
    _register(world, "UP-D", status=CaseStatus.COMPLETED, days_ago=10)
    _register(world, "UP-R", status=CaseStatus.COMPLETED, days_ago=10)
    _rate("UP-R", Stage.COMPLETE)
    default_ratings_sweep()
    assert _totals() == (2, 1, 2)
    u = Uptake(*_totals())
    assert u.rating_rate() == 0.5 and u.rating_rate(with_default=True) == 1.0
    assert rollups.verify() == []


def test_a_later_completion_date_moves_the_count(world):
    _register(world, "UP-M", status=CaseStatus.COMPLETED, days_ago=40)
    _rate("UP-M", Stage.COMPLETE)
    first_day = CompletionDay.objects.get().day
    service_case_register(
        scope=ALL_SCOPE,
        case_no="UP-M",
        item_code=world.a.item.implementation_code,
        status=CaseStatus.COMPLETED,
        completed_at=timezone.now(),
    )
    rows = {r.day: (r.completed, r.rated) for r in CompletionDay.objects.all() if r.completed or r.rated}
    assert first_day not in rows and list(rows.values()) == [(1, 1)]
    _register(world, "UP-M", status=CaseStatus.ACCEPTED)  # reopened by the business system: not completed now
    assert _totals() == (0, 0, 0)
    assert rollups.verify() == []


def test_offers_are_counted_per_channel_and_converted(world):
    for _ in range(3):
        offer_record(kind="qr_scan", channel="qr", window=world.a.window)
    case = _register(world, "UP-O", status=CaseStatus.COMPLETED)
    offer_record(kind="sms", channel="sms", service_case=case)
    assert sorted(OfferDay.objects.values_list("channel", "offers")) == [("qr", 3), ("sms", 1)]
    today = timezone.localdate()
    u = uptake_for(today, today, unit_ids=[world.a.window.unit_id])
    assert u.offered == 4
    rated, rate = u.conversion({"qr": 2, "paper": 9})  # paper records no offers: not in the conversion
    assert (rated, rate) == (2, 0.5)
    assert uptake_for(today, today, unit_ids=[world.b.window.unit_id]).offered == 0
    assert rollups.verify() == []


def test_random_mix_stays_exact_and_rebuild_restores(world):
    rnd = random.Random(7)
    for i in range(30):
        county = rnd.choice([world.a, world.b])
        status = rnd.choice([CaseStatus.ACCEPTED, CaseStatus.COMPLETED])
        _register(world, f"UP-R{i}", status=status, days_ago=rnd.randint(0, 60), county=county)
        if rnd.random() < 0.6:
            _rate(f"UP-R{i}", rnd.choice([Stage.ACCEPT, Stage.COMPLETE]), rnd.choice(["satisfied", "dissatisfied"]))
        if rnd.random() < 0.3:
            _register(world, f"UP-R{i}", status=CaseStatus.COMPLETED, days_ago=rnd.randint(0, 5), county=county)
    assert rollups.verify() == []
    CompletionDay.objects.update(rated=0)
    assert any(d.cube == "CompletionDay" for d in rollups.verify())
    rollups.rebuild()
    assert rollups.verify() == []


def test_the_dashboard_shows_rating_rate_and_offers_within_scope(world):
    from django.test import Client

    for i in range(4):
        _register(world, f"UP-DB{i}", status=CaseStatus.COMPLETED)
    _rate("UP-DB0", Stage.COMPLETE)
    _register(world, "UP-DBB", status=CaseStatus.COMPLETED, county=world.b)  # another county: not in a's figures
    for _ in range(2):
        offer_record(kind="qr_scan", channel="qr", window=world.a.window)
    c = Client()
    assert c.login(username="a_admin", password="pw-a_admin")
    payload = c.get("/analytics/data.json", {"period": "this_month", "chart": "uptake,offers"}).json()
    up = payload["charts"]["uptake"]
    figures = dict(zip([col["key"] for col in up["columns"]], up["rows"][0], strict=True))
    assert (figures["completed"], figures["rated"], figures["rating_rate"]) == (4, 1, 0.25)
    assert figures["offers"] == 2 and figures["rated_after_offer"] == 0 and figures["conversion"] == 0.0
    assert payload["charts"]["offers"]["rows"] == [["二维码", 2, 0, 0.0]]
    page = c.get("/analytics/", {"period": "this_month"}).content.decode()
    assert "评价率" in page and "邀评转化率" in page


def test_the_report_lists_rating_rate_beside_the_previous_period(world):
    from haochaping.analytics.reports import build_report

    _register(world, "UP-RP1", status=CaseStatus.COMPLETED)
    _register(world, "UP-RP2", status=CaseStatus.COMPLETED)
    _rate("UP-RP1", Stage.COMPLETE)
    data = build_report("monthly", timezone.localdate().replace(day=1), region=world.a.region)
    overview = {row[0]: row[1][0] for row in data.tables[0].rows}
    assert overview["办结办件"] == 2 and overview["评价率"] == 0.5
    assert any("评价率 50.0%" in line for line in data.summary)
