"""Tamper evidence: seals written with the records, the hash chain, and `haochaping verify` (must fire, must not)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import scope_for_api_key
from haochaping.cases.models import Case, CaseEvent
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.cases.services import case_act
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating
from haochaping.ratings.rowwriter import RowWriter
from haochaping.seal import chain
from haochaping.seal.models import Block, DailyDigest, Kind, Seal, VerifyRun
from haochaping.seal.verify import verify
from tests.cases_helpers import evidence

pytestmark = pytest.mark.django_db(transaction=False)

GRADES = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"]


def _submit(world, n: int = 6, **extra) -> list:
    key = ApiKey.objects.get(name="上城区审批系统")
    items = [
        {
            "grade": GRADES[i % 5],
            "channel": "qr",
            "window": {"hall": world.a.hall.code, "code": world.a.window.code},
            "comment": f"第{i}条" if i % 5 < 2 else "",
            "rater_phone": "13800138000",
            **extra,
        }
        for i in range(n)
    ]
    results = submit_ratings(items, scope=scope_for_api_key(key), client="test")
    assert all(r.ok for r in results), [r.message for r in results if not r.ok]
    return results


def _verify(capsys, *args) -> tuple[int, str]:
    try:
        call_command("verify", *args)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, capsys.readouterr().out


@pytest.fixture
def sealed(world):
    """Ratings (差评 among them, so cases and opening events), a complaint, all chained."""
    _submit(world)
    complaint_open(
        ComplaintIn(content="窗口人员态度差", contact_phone="13900139000", window_id=world.a.window.pk),
        scope=scope_for_api_key(ApiKey.objects.get(name="上城区审批系统")),
    )
    chain.append_blocks()
    return world


def test_intake_seals_every_rating_and_opening_event_in_the_same_write(world):
    _submit(world, n=10)
    assert Seal.objects.filter(kind=Kind.RATING).count() == Rating.objects.count() == 10
    events = CaseEvent.objects.count()
    assert events == Case.objects.count() == 4  # 2 差评 grades × 2
    assert set(Seal.objects.filter(kind=Kind.EVENT).values_list("record_id", flat=True)) == set(
        CaseEvent.objects.values_list("id", flat=True)
    )
    assert verify(record=False).ok


def test_single_rating_is_sealed(world):
    _submit(world, n=1)
    assert Seal.objects.filter(kind=Kind.RATING).count() == 1
    assert verify(record=False).ok


def test_clean_data_verifies_clean(sealed, capsys):
    code, out = _verify(capsys)
    assert code == 0
    assert out.strip().splitlines()[-1].startswith("OK: no tampering found")
    assert len(out.strip().splitlines()) == 1
    assert Block.objects.count() == 1 and DailyDigest.objects.count() == 1
    assert VerifyRun.objects.get().findings == 0


def test_edited_grade_is_reported_as_altered(sealed, capsys):
    rating = Rating.objects.order_by("id").first()
    Rating.objects.filter(pk=rating.pk).update(grade=1)
    code, out = _verify(capsys)
    assert code == 1
    assert f"altered: ratings_rating id={rating.pk} public_id={rating.public_id}" in out
    assert out.count("altered: ") == 1


def test_personal_data_columns_are_not_sealed(sealed, capsys):
    # Key rotation re-encrypts them and retention blanks them: neither is tampering.
    Rating.objects.update(rater_phone_enc="", rater_phone_hash="", rater_name_enc="")
    assert _verify(capsys)[0] == 0


def test_deleted_case_event_is_reported(sealed, capsys):
    event = CaseEvent.objects.order_by("id").last()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CaseEvent._meta.db_table} WHERE id = %s", [event.pk])
    code, out = _verify(capsys)
    assert code == 1
    assert f"deleted: cases_caseevent id={event.pk} is gone" in out


def test_deleted_rating_with_its_seals_breaks_the_block_digest(sealed, capsys):
    rating = Rating.objects.filter(case__isnull=True).order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Rating._meta.db_table} WHERE id = %s", [rating.pk])
    Seal.objects.filter(kind=Kind.RATING, record_id=rating.pk).delete()
    code, out = _verify(capsys)
    assert code == 1
    assert "seal altered: block 1" in out


def test_forged_rating_is_reported(sealed, capsys):
    row = Rating.objects.filter(grade=5).values().first()
    forged = {**row, "public_id": uuid.uuid4(), "idempotency_key": None, "service_case_id": None, "grade": 5}
    forged["rated_at"] = timezone.now() - timedelta(hours=1)
    RowWriter(Rating).insert([forged])
    new = Rating.objects.get(public_id=forged["public_id"])
    code, out = _verify(capsys)
    assert code == 1
    assert f"inserted: ratings_rating id={new.pk} public_id={new.public_id} has no seal" in out


def test_tampered_block_hash_breaks_the_chain(sealed, capsys):
    _submit(sealed, n=2)
    chain.append_blocks()
    Block.objects.filter(pk=1).update(hash="f" * 64)
    code, out = _verify(capsys)
    assert code == 1
    assert "chain broken: at block 1: its hash does not match its content" in out
    assert "chain broken: at block 2: prev_hash does not match block 1's hash" in out


def test_altered_seal_is_reported(sealed, capsys):
    seal = Seal.objects.filter(kind=Kind.EVENT).first()
    Seal.objects.filter(pk=seal.pk).update(mac="0" * 64)
    code, out = _verify(capsys)
    assert code == 1
    assert f"altered: cases_caseevent id={seal.record_id}" in out
    assert "seal altered: block 1" in out


def test_not_adopted_decision_through_the_product_verifies_clean(sealed, capsys, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    u = sealed.users
    case = Case.objects.filter(kind="bad_review", real_name=True).order_by("id").first()
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    data = {"at": timezone.now().isoformat(), "channel": "phone", "reached": "1", "rater_said": "误按"}
    case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=data)
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "误评"})
    case_act(
        case_id=case.pk, action="appeal", user=u["a_handler"], data={"ground": "mistaken", "reason": "误触"},
        files=[evidence()],
    )  # fmt: skip
    case_act(case_id=case.pk, action="approve_appeal", user=u["a_admin"], data={"note": "复核"})
    rating = Rating.objects.get(pk=case.rating_id)
    assert rating.adoption == "not_adopted"
    seals = Seal.objects.filter(kind=Kind.RATING, record_id=rating.pk).order_by("id")
    versions = list(seals.values_list("version", flat=True))
    assert len(versions) >= 2 and versions == sorted(versions)  # the old seal stays; the decision is a new version
    assert _verify(capsys)[0] == 0
    chain.append_blocks()
    assert _verify(capsys)[0] == 0
    # Quietly undoing the decision in the database is caught.
    Rating.objects.filter(pk=rating.pk).update(adoption="adopted")
    code, out = _verify(capsys)
    assert code == 1 and f"altered: ratings_rating id={rating.pk}" in out


def test_rolled_back_intake_leaves_no_seal(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        _submit(world, n=3)
        assert Seal.objects.count() > 0
        raise RuntimeError("rollback")
    assert Seal.objects.count() == 0 and Rating.objects.count() == 0


def test_backfill_seals_bulk_loaded_rows_and_the_chain_takes_late_seals(world, capsys):
    row = {
        **Rating.objects.model(
            target="window", grade=5, channel="qr", unit_id=world.a.dept.pk, region_id=world.a.region.pk,
            rated_at=timezone.now(), received_at=timezone.now(), client="demo",
        ).__dict__
    }  # fmt: skip
    RowWriter(Rating).insert([{**row, "public_id": uuid.uuid4()} for _ in range(3)])
    code, out = _verify(capsys)
    assert code == 1 and out.count("inserted: ") == 3
    call_command("seal", "--backfill")
    assert Seal.objects.filter(kind=Kind.RATING).count() == 3
    assert Seal.objects.filter(block__isnull=True).count() == 0
    assert _verify(capsys)[0] == 0
    # A seal whose transaction commits after a later seal was chained goes into the next block, not lost.
    _submit(world, n=1)
    _submit(world, n=1)
    early, late = Seal.objects.filter(block__isnull=True).order_by("id")
    Seal.objects.filter(pk=early.pk).update(block=0)  # not visible to the sealer yet: still "in flight"
    chain.append_blocks()
    Seal.objects.filter(pk=early.pk).update(block=None)  # committed now
    chain.append_blocks()
    assert Seal.objects.get(pk=early.pk).block > Seal.objects.get(pk=late.pk).block
    assert _verify(capsys)[0] == 0


def test_verify_since_checks_recent_records_only(sealed, capsys):
    old = Rating.objects.order_by("id").first()
    Rating.objects.filter(pk=old.pk).update(rated_at=timezone.now() - timedelta(days=10))
    # Changing rated_at is tampering too; a check from yesterday does not reach that row.
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert _verify(capsys, "--since", since)[0] == 0
    assert _verify(capsys)[0] == 1


def test_old_key_still_verifies_after_rotation(sealed, capsys, settings):
    old = settings.HAOCHAPING_SEAL_KEY
    settings.HAOCHAPING_SEAL_KEY = "a-new-seal-key"
    settings.HAOCHAPING_SEAL_OLD_KEYS = [old]
    _submit(sealed, n=2)
    chain.append_blocks()
    assert _verify(capsys)[0] == 0
    settings.HAOCHAPING_SEAL_OLD_KEYS = []
    code, out = _verify(capsys)
    assert code == 1 and "unknown key" in out


def test_chain_page_for_supervisors_only(sealed, client, capsys):
    _verify(capsys)
    client.force_login(sealed.users["a_auditor"])
    response = client.get("/integrity/chain/")
    assert response.status_code == 200
    body = response.content.decode()
    assert Block.objects.get().hash in body and "未发现篡改" in body
    client.force_login(sealed.users["a_clerk"])
    assert client.get("/integrity/chain/").status_code == 403


def test_public_digests_selector(sealed):
    from haochaping.seal.selectors import public_digests

    (d,) = public_digests()
    assert d["block_hash"] == Block.objects.get().hash and d["seals"] == Seal.objects.count()
