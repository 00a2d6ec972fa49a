"""The rollups stay exactly equal to a recomputation from the ratings, whatever changes the ratings."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import scope_for_api_key
from haochaping.analytics import rollups
from haochaping.analytics.models import UnitDay, UnitMonth
from haochaping.cases.models import Case
from haochaping.cases.services import case_act
from haochaping.ratings.intake import submit_ratings
from tests.cases_helpers import evidence

GRADES = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"]


def _submit(world, items):
    key = ApiKey.objects.get(name="上城区审批系统")
    results = submit_ratings(items, scope=scope_for_api_key(key), client="test")
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    return results


def _item(world, rnd: random.Random, *, days_ago: int = 0) -> dict:
    item = {
        "grade": rnd.choice(GRADES),
        "channel": rnd.choice(["qr", "hall_tablet", "paper", "sms"]),
        "window": {"hall": world.a.hall.code, "code": world.a.window.code},
        "rated_at": (timezone.now() - timedelta(days=days_ago, minutes=rnd.randint(0, 600))).isoformat(),
    }
    if rnd.random() < 0.3:
        item["staff_code"] = world.a.clerk.code
    if rnd.random() < 0.3:
        item["item_code"] = world.a.item.implementation_code
    if rnd.random() < 0.2 and item["grade"] == "basic":
        item["is_default"] = True
    return item


def test_intake_keeps_every_cube_exact(world):
    rnd = random.Random(4)
    _submit(world, [_item(world, rnd) for _ in range(40)])
    _submit(world, [_item(world, rnd)])  # a single rating
    assert UnitDay.objects.exists() and UnitMonth.objects.exists()
    assert rollups.verify() == []


def test_random_mix_of_inserts_appeals_and_back_dated_imports_stays_exact(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    u = world.users
    rnd = random.Random(11)
    for step in range(12):
        choice = rnd.random()
        if choice < 0.5:
            _submit(world, [_item(world, rnd) for _ in range(rnd.randint(1, 15))])
        elif choice < 0.75:  # an old paper form keyed today: lands in a past day and month
            _submit(world, [_item(world, rnd, days_ago=rnd.randint(20, 120)) for _ in range(rnd.randint(1, 5))])
        else:
            case = Case.objects.filter(state="new").order_by("?").first()
            if case is None:
                continue
            case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
            data = {"at": timezone.now().isoformat(), "channel": "phone", "reached": "1", "rater_said": "误按"}
            if case.real_name:
                case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=data)
            case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "误评"})
            case_act(
                case_id=case.pk,
                action="appeal",
                user=u["a_handler"],
                data={"ground": "mistaken", "reason": "误触"},
                files=[evidence()],
            )
            decision = "approve_appeal" if rnd.random() < 0.7 else "reject_appeal"
            case_act(case_id=case.pk, action=decision, user=u["a_admin"], data={"note": "复核"})
        assert rollups.verify() == [], f"step {step}"
    assert (
        sum(UnitMonth.objects.values_list("out_1", flat=True)) + sum(UnitMonth.objects.values_list("out_2", flat=True))
        == Case.objects.filter(outcome="not_adopted").count()
    )


def test_rebuild_and_the_command(world, capsys):
    rnd = random.Random(2)
    _submit(world, [_item(world, rnd) for _ in range(20)])
    UnitDay.objects.update(act_5=999)  # tamper
    with pytest.raises(Exception, match="差异"):
        call_command("rollups", "verify")
    call_command("rollups", "rebuild")
    call_command("rollups", "verify")
    assert "0 处差异" in capsys.readouterr().out
