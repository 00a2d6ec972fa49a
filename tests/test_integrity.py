"""Integrity signals: each rule fires on a synthetic pattern and stays quiet on a close but innocent one; the
review flow; scope and access of the supervision pages."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.evaluator.models import EvaluatorDevice, EvaluatorPrompt
from haochaping.integrity import rules
from haochaping.integrity.models import Signal, SignalReview
from haochaping.integrity.services import signal_review, signals_compute, staff_identity_set
from haochaping.lib.errors import PermissionDenied, ValidationFailed
from haochaping.ratings.intake import submit_ratings

GRADES = {1: "very_dissatisfied", 2: "dissatisfied", 3: "basic", 4: "satisfied", 5: "very_satisfied"}


@pytest.fixture
def day():
    """Yesterday, local: [start, end) and a helper giving a time of that day."""
    start = timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=1), time.min))
    return start, start + timedelta(days=1)


def at(day, hour, minute=0, second=0):
    return day[0] + timedelta(hours=hour, minutes=minute, seconds=second)


def rate(county, grade, when, client="test", **extra):
    item = {
        "window": {"hall": county.hall.code, "code": county.window.code},
        "staff_code": county.clerk.code,
        "grade": GRADES[grade],
        "channel": extra.pop("channel", "hall_tablet"),
        "rated_at": when.isoformat(),
        **extra,
    }
    [result] = submit_ratings([item], scope=ALL_SCOPE, client=client)
    assert result.ok, result.errors
    return result


def device(county, name="评价器"):
    credential_hash = f"h-{name}-{county.window.pk}"
    return EvaluatorDevice.objects.create(window=county.window, name=name, credential_hash=credential_hash)


# --- brushing ---------------------------------------------------------------------------------------------


def test_brushing_fires_on_a_burst_from_one_device(world, day):
    d = device(world.a)
    for i in range(8):
        rate(world.a, 5, at(day, 15, 0, 70 * i), client=f"device:{d.pk}")
    [f] = rules.brushing(*day)
    assert f.subject_kind == "device" and f.subject_id == f"device:{d.pk}"
    assert f.evidence["count"] == 8 and len(f.evidence["rating_ids"]) == 8
    assert f.evidence["baseline"]["top_ratings"] == 0 and f.unit_id == world.a.dept.pk


def test_brushing_quiet_when_spread_out_or_usual_for_the_device(world, day):
    d = device(world.a)
    for i in range(8):  # 8 in 40 minutes: a busy window, not a burst
        rate(world.a, 5, at(day, 9, 5 * i), client=f"device:{d.pk}")
    busy = device(world.b, "busy")
    for days_back in range(1, 4):  # a device that usually takes ~30 非常满意 an hour
        for i in range(30):
            rate(world.b, 5, at(day, 10, 2 * i) - timedelta(days=days_back), client=f"device:{busy.pk}")
    for i in range(8):
        rate(world.b, 5, at(day, 15, 0, 70 * i), client=f"device:{busy.pk}")
    assert rules.brushing(*day) == []


# --- coerced clerk ----------------------------------------------------------------------------------------


def prompts(county, day, seconds_list, hour=13):
    for i, seconds in enumerate(seconds_list):
        p = EvaluatorPrompt.objects.create(window=county.window, staff=county.clerk, source="test")
        pushed = at(day, hour, 5 * i)
        EvaluatorPrompt.objects.filter(pk=p.pk).update(
            created_at=pushed, shown_at=pushed + timedelta(seconds=1), rated_at=pushed + timedelta(seconds=1 + seconds)
        )


def test_coerced_fires_on_a_run_of_instant_ratings(world, day):
    prompts(world.a, day, [20, 12] + [1] * 8 + [15])
    [f] = rules.coerced(*day)
    assert f.subject_kind == "staff" and f.subject_id == str(world.a.clerk.pk)
    assert f.evidence["run"] == 8 and len(f.evidence["prompts"]) == 8
    assert f.evidence["baseline"]["median_seconds"] == 15


def test_coerced_quiet_when_the_run_is_broken(world, day):
    prompts(world.a, day, [1] * 7 + [9] + [1] * 7)  # 14 fast but never 8 in a row
    prompts(world.b, day, [4] * 12)  # just above the threshold every time
    assert rules.coerced(*day) == []


# --- self-rating ------------------------------------------------------------------------------------------


def test_self_rating_fires_when_the_rater_is_staff_of_the_rated_unit(world, day):
    staff_identity_set(staff=world.a.clerk, cert="330102199001011234", phone="13800001111")
    rate(world.a, 5, at(day, 10), rater_cert="330102199001011234", anonymous=False)
    rate(world.a, 5, at(day, 11), rater_phone="13800001111", anonymous=False)
    [f] = rules.self_rating(*day)
    assert f.subject_id == str(world.a.clerk.pk) and f.evidence["count"] == 2
    assert f.evidence["matched"] == {"rater_cert": 1, "rater_phone": 1}


def test_self_rating_quiet_for_staff_of_another_unit(world, day):
    staff_identity_set(staff=world.b.clerk, cert="330102199001011234")  # a county b clerk rating county a
    rate(world.a, 5, at(day, 10), rater_cert="330102199001011234", anonymous=False)
    rate(world.a, 5, at(day, 11), rater_cert="330102199001019999", anonymous=False)
    assert rules.self_rating(*day) == []


# --- default share, perfect (month rules, from the rollups) ----------------------------------------------


def rate_unit(unit, grade, when, **extra):
    [r] = submit_ratings(
        [{"unit_uscc": unit.uscc, "grade": GRADES[grade], "channel": "pc", "rated_at": when.isoformat(), **extra}],
        scope=ALL_SCOPE,
        client="test",
    )
    assert r.ok, r.errors


def month_of(day):
    start = timezone.make_aware(datetime.combine(timezone.localdate(day[0]).replace(day=1), time.min))
    return start, day[1] + timedelta(days=1)


def test_default_share_fires_against_the_rest_of_the_region(world, day, settings):
    settings.HAOCHAPING_SIGNAL_DEFAULT_MIN_RATINGS = 10
    for i in range(10):
        rate_unit(world.a.dept, 3, at(day, 9, i), is_default=i < 6)  # 60% default
        rate_unit(world.a.agency, 4, at(day, 10, i), is_default=i < 1)  # 10% default
    [f] = rules.default_share(*month_of(day))
    assert f.unit_id == world.a.dept.pk and f.evidence["baseline"]["share"] == 0.1


def test_default_share_quiet_when_close_to_the_region(world, day, settings):
    settings.HAOCHAPING_SIGNAL_DEFAULT_MIN_RATINGS = 10
    for i in range(10):
        rate_unit(world.a.dept, 3, at(day, 9, i), is_default=i < 3)  # 30% vs 20%: within the margin
        rate_unit(world.a.agency, 4, at(day, 10, i), is_default=i < 2)
    assert rules.default_share(*month_of(day)) == []


def test_perfect_reuses_the_coverage_check(world, day):
    for i in range(25):
        rate_unit(world.a.dept, 5, at(day, 9, i))  # every rating 非常满意
        rate_unit(world.b.dept, [1, 3, 4, 5, 2][i % 5], at(day, 10, i))
    [f] = rules.perfect(*month_of(day))
    assert f.unit_id == world.a.dept.pk and {x["code"] for x in f.evidence["flags"]} == {"all_top"}


def test_perfect_quiet_for_a_good_but_plausible_unit(world, day):
    for i in range(25):
        rate_unit(world.a.dept, 4 if i % 6 else 5, at(day, 9, i))
        rate_unit(world.b.dept, [1, 3, 4, 5, 2][i % 5], at(day, 10, i))
    assert rules.perfect(*month_of(day)) == []


# --- campaign ---------------------------------------------------------------------------------------------


def test_campaign_fires_on_many_bad_ratings_from_one_phone(world, day):
    for i in range(5):
        rate(world.a, 1, at(day, 9 + i), client="qr:1", channel="qr", rater_phone="13912345678", anonymous=False)
    [f] = rules.campaign(*day)
    assert f.subject_kind == "phone" and f.subject_label.endswith("139****5678")
    assert f.evidence["count"] == 5 and "13912345678" not in str(f.evidence)


def test_campaign_quiet_below_the_threshold_or_for_good_grades(world, day):
    for i in range(4):
        rate(world.a, 1, at(day, 9 + i), channel="qr", rater_phone="13912345678", anonymous=False)
    for i in range(6):  # the same number praising: no campaign
        rate(world.a, 5, at(day, 14, i), channel="qr", rater_phone="13900000000", anonymous=False)
    assert rules.campaign(*day) == []


def test_campaign_from_one_qr_code(world, day):
    for i in range(8):
        rate(world.b, 2, at(day, 11, 5 * i), client="qr:77", channel="qr")
    [f] = rules.campaign(*day)
    assert f.subject_kind == "qr" and f.subject_id == "qr:77" and f.unit_id == world.b.dept.pk


# --- text contradicting grade -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "grade", "expected"),
    [
        ("工作人员态度很好，非常满意", 1, "positive"),
        ("窗口推诿扯皮", 5, "negative"),
        ("乱收费", 4, "negative"),
        ("没有推诿，办得很快", 5, None),  # negated
        ("不是很满意", 1, None),  # negated
        ("态度很好，但是推诿", 1, None),  # both: not clear
        ("态度很好", 5, None),  # agrees with the grade
        ("态度恶劣", 3, None),  # 基本满意 is neither
    ],
)
def test_text_contradiction_lexicon(text, grade, expected):
    found = rules.text_contradiction(text, grade)
    assert (found[0] if found else None) == expected


def test_text_grade_groups_per_unit(world, day):
    rate(world.a, 1, at(day, 9), comment="态度很好，非常满意")
    rate(world.a, 5, at(day, 10), comment="没有推诿，很快")
    [f] = rules.text_grade(*day)
    assert f.unit_id == world.a.dept.pk and f.evidence["count"] == 1


# --- storing, review, pages -------------------------------------------------------------------------------


def campaign_in(county, day, phone="13912345678"):
    for i in range(5):
        rate(county, 1, at(day, 9 + i), channel="qr", rater_phone=phone, anonymous=False, comment="推诿")


def test_reruns_update_and_keep_the_review(world, day):
    campaign_in(world.a, day)
    assert signals_compute(days=2)["campaign"] == 1
    signal = Signal.objects.get()
    note = "同一人多次办理，已核实"
    signal_review(signal=signal, user=world.users["a_admin"], status="dismissed", note=note, scope=ALL_SCOPE)
    signals_compute(days=2)
    signal = Signal.objects.get()
    assert signal.status == "dismissed" and signal.reviewed_by == world.users["a_admin"]
    note = "复核：确为恶意差评"
    signal_review(signal=signal, user=world.users["root"], status="confirmed", note=note, scope=ALL_SCOPE)
    assert [r.status for r in SignalReview.objects.order_by("id")] == ["dismissed", "confirmed"]


def test_review_needs_a_note_and_a_writer(world, day):
    campaign_in(world.a, day)
    signals_compute(days=2)
    signal = Signal.objects.get()
    with pytest.raises(ValidationFailed) as exc:
        signal_review(signal=signal, user=world.users["a_admin"], status="confirmed", note=" ", scope=ALL_SCOPE)
    assert exc.value.field == "note"
    with pytest.raises(ValidationFailed):
        signal_review(signal=signal, user=world.users["a_admin"], status="open", note="不合法的结果", scope=ALL_SCOPE)
    from haochaping.accounts.scope import scope_for_user

    with pytest.raises(PermissionDenied):
        signal_review(
            signal=signal, user=world.users["a_auditor"], status="confirmed", note="审计不能核查",
            scope=scope_for_user(world.users["a_auditor"]),
        )  # fmt: skip
    assert SignalReview.objects.count() == 0


def login(world, username):
    c = Client()
    c.force_login(world.users[username])
    return c


def test_pages_scope_and_access(world, day):
    campaign_in(world.a, day, "13912345678")
    campaign_in(world.b, day, "13987654321")
    signals_compute(days=2)
    a_signal = Signal.objects.get(unit=world.a.dept)
    b_signal = Signal.objects.get(unit=world.b.dept)
    page = login(world, "a_admin").get("/integrity/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "139****5678" in body and "139****4321" not in body
    assert login(world, "a_admin").get(f"/integrity/{b_signal.pk}/").status_code == 404
    detail = login(world, "a_admin").get(f"/integrity/{a_signal.pk}/")
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "139****5678" in text and "13912345678" not in text and "推诿" in text
    for username in ("a_clerk", "a_handler", "nobody"):
        assert login(world, username).get("/integrity/").status_code == 403
        assert login(world, username).get(f"/integrity/{a_signal.pk}/").status_code == 403
    assert login(world, "a_auditor").get(f"/integrity/{a_signal.pk}/").status_code == 200
    review = {"status": "confirmed", "note": "x" * 10}
    assert login(world, "a_auditor").post(f"/integrity/{a_signal.pk}/", review).status_code == 403
    assert Client().get("/integrity/").status_code == 302


def test_review_through_the_page(world, day):
    campaign_in(world.a, day)
    signals_compute(days=2)
    signal = Signal.objects.get()
    c = login(world, "a_dept_admin")
    bad = c.post(f"/integrity/{signal.pk}/", {"status": "confirmed", "note": ""})
    assert bad.status_code == 400
    ok = c.post(f"/integrity/{signal.pk}/", {"status": "confirmed", "note": "电话核实，为同行恶意差评"})
    assert ok.status_code == 302
    signal.refresh_from_db()
    assert signal.status == "confirmed" and signal.reviewed_by == world.users["a_dept_admin"]
    listed = c.get("/integrity/?status=confirmed").content.decode()
    assert "139****5678" in listed
