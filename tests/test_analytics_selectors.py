"""counts_by answers from the rollups what a count over the ratings would say, per dimension."""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.db.models import Count
from django.utils import timezone

from haochaping.accounts.scope import scope_for_user
from haochaping.analytics.metrics import Counts
from haochaping.analytics.selectors import Slice, counts_by, slice_for_scope
from haochaping.ratings.models import Rating
from tests.test_rollups import _item


def _world_ratings(world, n=60):
    rnd = random.Random(7)
    items = []
    for i in range(n):
        item = _item(world, rnd, days_ago=rnd.randint(0, 70))
        if i % 3 == 0:  # some of county B
            item = {**item, "window": {"hall": world.b.hall.code, "code": world.b.window.code}}
            item.pop("staff_code", None)
            item.pop("item_code", None)
        items.append(item)
    from haochaping.accounts.models import ApiKey
    from haochaping.accounts.scope import scope_for_api_key
    from haochaping.ratings.intake import submit_ratings

    key = ApiKey.objects.get(name="杭州市统一受理平台")
    assert all(r.ok for r in submit_ratings(items, scope=scope_for_api_key(key), client="t"))


def test_counts_by_region_unit_month_and_staff_match_the_ratings(world):
    _world_ratings(world)
    today = timezone.localdate()
    s = Slice(today - timedelta(days=400), today)
    by_unit = counts_by(s, "unit")
    raw = dict(Rating.objects.values_list("unit_id").annotate(n=Count("id")))
    assert {k: v.counted for k, v in by_unit.rows.items()} == raw
    by_region = counts_by(Slice(s.start, s.end, region_path=world.city.path), "region")
    assert set(by_region.rows) == {world.a.region.id, world.b.region.id}
    assert sum(c.counted for c in by_region.rows.values()) == Rating.objects.count()
    by_month = counts_by(s, "month")
    assert all(k.day == 1 for k in by_month.rows) and by_month.total.counted == Rating.objects.count()
    by_staff = counts_by(s, "staff")
    assert by_staff.rows[world.a.clerk.id].counted == Rating.objects.filter(staff=world.a.clerk).count()
    assert isinstance(by_unit.total, Counts)


def test_a_scope_sees_only_its_slice(world):
    _world_ratings(world)
    today = timezone.localdate()
    s = slice_for_scope(scope_for_user(world.users["b_admin"]), date(2020, 1, 1), today)
    total = counts_by(s).total
    assert total.counted == Rating.objects.filter(region=world.b.region).count()
