"""覆盖情况: unrated 事项, windows, staff and channels against the directory; implausible units flagged."""

from __future__ import annotations

import pytest
from django.test import Client

from haochaping.accounts.scope import ALL_SCOPE, scope_for_user
from haochaping.analytics import coverage as cov
from haochaping.analytics import performance as perf
from haochaping.directory.models import ServiceItem, Staff, Window
from tests.test_performance_inputs import _client, _rate


def _report(scope=ALL_SCOPE) -> cov.Coverage:
    period = perf.parse_period("")
    return cov.coverage(scope, period.start, period.end)


def test_unrated_window_item_staff_and_channels_are_listed(world):
    _rate(world, ["satisfied"] * 3, item_code=world.a.item.implementation_code)
    extra = ServiceItem.objects.create(
        basic_code="000101002000",
        implementation_code=f"{world.a.dept.uscc}000101002000",
        name="食品经营许可（变更）",
        item_type="01",
        service_objects="1",
        unit=world.a.dept,
        region=world.a.region,
    )
    ServiceItem.objects.filter(pk=world.b.item.pk).update(is_active=False)  # inactive: not in the directory
    r = _report()
    assert (r.items.total, r.items.rated, r.items.unrated) == (2, 1, 1)
    assert [e["pk"] for e in r.items.entries] == [extra.pk]
    assert (r.windows.total, r.windows.unrated) == (2, 1) and r.windows.entries[0]["pk"] == world.b.window.pk
    assert [e["pk"] for e in r.staff.entries] == [world.b.clerk.pk]
    channels = {c["code"]: c["counted"] for c in r.channels}
    assert channels["hall_tablet"] == 3 and channels["sms"] == 0 and "default" not in channels
    assert {c["code"] for c in r.unrated_channels} >= {"sms", "pc", "app"}
    page = _client(world, "root").get("/analytics/coverage/").content.decode()
    assert extra.name in page and world.b.window.name in page and "1 / 2 未获评价" in page


def test_lists_are_capped_but_totals_are_not(world):
    for i in range(5):
        Window.objects.create(hall=world.a.hall, code=f"9{i}", name=f"综合窗口{i}", unit=world.a.dept)
    period = perf.parse_period("")
    r = cov.coverage(ALL_SCOPE, period.start, period.end, limit=3)
    assert r.windows.unrated == 7 and len(r.windows.entries) == 3 and r.windows.capped


def test_staff_without_a_window_are_not_expected_to_be_rated(world):
    Staff.objects.create(code="S-BACK", name="后台审核", unit=world.a.dept)
    assert "S-BACK" not in {e["code"] for e in _report().staff.entries}


def test_perfect_unit_on_high_volume_is_flagged_with_its_numbers(world):
    _rate(world, ["very_satisfied"] * 150 + ["satisfied"] * 60, channel="qr", staff=False)
    _rate(world, ["very_satisfied"] * 60 + ["basic"] * 20 + ["dissatisfied"] * 10, county="b", staff=False)
    flags = _report().flags
    perfect = [f for f in flags if f.code == "perfect"]
    assert [(f.unit_id, f.figures["active"], f.figures["good_rate"]) for f in perfect] == [(world.a.dept.id, 210, 1.0)]
    assert perfect[0].reason and world.b.dept.id not in {f.unit_id for f in flags}
    page = _client(world, "a_admin").get("/analytics/coverage/").content.decode()
    assert "需要核查的异常数据（1）" in page and "主动评价 210 条，好评率 100%" in page


def test_below_the_volume_a_perfect_unit_is_not_flagged(world):
    _rate(world, ["satisfied"] * 199, staff=False)
    assert [f.code for f in _report().flags] == []


def test_all_top_grade_is_flagged_when_improbable_at_the_scope_share(world):
    _rate(world, ["very_satisfied"] * 40, staff=False)
    _rate(world, ["very_satisfied"] * 30 + ["satisfied"] * 30 + ["basic"] * 10, county="b", staff=False)
    [flag] = _report().flags
    assert (flag.unit_id, flag.code, flag.figures["active"]) == (world.a.dept.id, "all_top", 40)
    assert flag.figures["chance"] == pytest.approx((70 / 110) ** 40)


def test_near_zero_bad_rate_with_many_defaults_is_flagged(world):
    _rate(world, ["satisfied"] * 100 + ["basic"] * 40, staff=False)
    _rate(world, ["basic"] * 80, is_default=True, channel="default", staff=False)
    [flag] = [f for f in _report().flags if f.code == "no_bad_many_defaults"]
    assert flag.unit_id == world.a.dept.id and flag.figures["counted"] == 220
    assert flag.figures["bad_rate"] == 0 and flag.figures["default_share"] == pytest.approx(80 / 220)


def test_one_channel_share_is_flagged_only_when_the_unit_has_several(world):
    _rate(world, ["satisfied"] * 190 + ["basic"] * 10, staff=False)  # hall_tablet
    _rate(world, ["satisfied"] * 5, channel="sms", staff=False)
    _rate(world, ["satisfied"] * 150 + ["basic"] * 60, county="b", staff=False)  # one channel only: no flag
    [flag] = _report().flags
    assert (flag.unit_id, flag.code, flag.figures["channel"], flag.figures["channels"]) == (
        world.a.dept.id,
        "one_channel",
        "hall_tablet",
        2,
    )
    assert flag.figures["channel_share"] == pytest.approx(200 / 205)


def test_coverage_is_scoped(world):
    _rate(world, ["very_satisfied"] * 210, staff=False)
    b = _report(scope_for_user(world.users["b_admin"]))
    assert b.flags == [] and {e["pk"] for e in b.items.entries} == {world.b.item.pk}
    assert {e["pk"] for e in b.windows.entries} == {world.b.window.pk} and b.windows.total == 1
    page = _client(world, "b_admin").get("/analytics/coverage/").content.decode()
    assert world.a.dept.name not in page and world.a.item.implementation_code not in page
    assert world.b.window.name in page


def test_bad_period_is_a_400_naming_the_field(world):
    r = _client(world, "root").get("/analytics/coverage/?period=2026-00")
    assert r.status_code == 400 and "统计期间" in r.content.decode()


def test_window_staff_get_403(world):
    assert _client(world, "a_clerk").get("/analytics/coverage/").status_code == 403
    assert Client().get("/analytics/coverage/").status_code == 302
