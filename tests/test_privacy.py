"""Retention purge of personal data and key rotation (docs/privacy.md)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from haochaping.analytics import rollups
from haochaping.audit.models import AdminAction
from haochaping.audit.retention import months_before, purge_personal_data
from haochaping.audit.rotation import rotate_ciphertexts
from haochaping.cases.models import Case
from haochaping.lib import protect
from haochaping.ratings.models import Rating
from tests.cases_helpers import open_bad_review


def _age(case: Case, days: int) -> None:
    old = timezone.now() - timedelta(days=days)
    Rating.objects.filter(pk=case.rating_id).update(rated_at=old)
    Case.objects.filter(pk=case.pk).update(state="closed", closed_at=old, outcome="explained", notified_at=old)


def test_months_before_clamps_the_day():
    from datetime import datetime

    assert months_before(datetime(2026, 3, 31), 1) == datetime(2026, 2, 28)
    assert months_before(datetime(2026, 1, 15), 13) == datetime(2024, 12, 15)


def test_purge_clears_only_personal_data_of_old_records(world):
    old = open_bad_review(world, phone="13800138000", rater_name="张三", rater_cert="330102199001011234")
    new = open_bad_review(world, phone="13900139000")
    _age(old, 40 * 31)
    rollups.rebuild()  # the aging above moved a rating between days: the figures start exact
    assert rollups.verify() == []
    before = {f.attname: getattr(Rating.objects.get(pk=old.rating_id), f.attname) for f in Rating._meta.concrete_fields}
    counts = purge_personal_data(months=36, dry_run=True)
    assert counts["ratings"] == 1 and counts["cases"] == 1
    assert Rating.objects.get(pk=old.rating_id).rater_phone_enc  # dry run writes nothing
    counts = purge_personal_data(months=36, batch_size=1)
    assert counts["ratings"] == 1 and counts["cases"] == 1
    after = {f.attname: getattr(Rating.objects.get(pk=old.rating_id), f.attname) for f in Rating._meta.concrete_fields}
    personal = {"rater_name_enc", "rater_phone_enc", "rater_phone_hash", "rater_cert_enc", "rater_cert_hash"}
    assert {k for k in before if before[k] != after[k]} == personal
    assert all(after[k] == "" for k in personal)
    old_case = Case.objects.get(pk=old.pk)
    assert (old_case.contact_phone_enc, old_case.contact_phone_hash, old_case.contact_name_enc) == ("", "", "")
    assert old_case.grade == old.grade and old_case.rating_id == old.rating_id
    assert Rating.objects.get(pk=new.rating_id).rater_phone_enc and Case.objects.get(pk=new.pk).contact_phone_enc
    assert Rating.objects.count() == 2 and Case.objects.count() == 2
    assert rollups.verify() == []
    entry = AdminAction.objects.get(action="purge")
    assert entry.changes["ratings"] == [None, 1]
    assert purge_personal_data(months=36) == {"ratings": 0, "service_cases": 0, "cases": 0, "sms_messages": 0}
    assert purge_personal_data(months=0)["ratings"] == 0


def test_purge_command_reports_counts(world, capsys):
    old = open_bad_review(world, phone="13800138000")
    _age(old, 400)
    call_command("purge_personal_data", "--months", "12", "--dry-run")
    assert "ratings: 1" in capsys.readouterr().out
    assert Rating.objects.get(pk=old.rating_id).rater_phone_enc
    call_command("purge_personal_data", "--months", "12")
    assert "已清除 ratings: 1" in capsys.readouterr().out
    assert Rating.objects.get(pk=old.rating_id).rater_phone_enc == ""
    assert AdminAction.objects.get(action="purge").source == "command"


def test_rotate_reencrypts_under_the_new_key_and_decrypt_still_works(world, settings):
    case = open_bad_review(world, phone="13800138000", rater_name="张三")
    old_token = Rating.objects.get(pk=case.rating_id).rater_phone_enc
    with override_settings(PII_KEYS=["brand-new-key", *settings.PII_KEYS]):
        assert rotate_ciphertexts(dry_run=True)["ratings.Rating"].rewritten == 2
        assert Rating.objects.get(pk=case.rating_id).rater_phone_enc == old_token
        call_command("pii", "rotate", "--batch-size", "1")
        rating = Rating.objects.get(pk=case.rating_id)
        assert rating.rater_phone_enc != old_token and protect.decrypt(rating.rater_phone_enc) == "13800138000"
        assert protect.decrypt(Case.objects.get(pk=case.pk).contact_phone_enc) == "13800138000"
        assert rotate_ciphertexts()["ratings.Rating"].rewritten == 0  # resumable: nothing left
    with override_settings(PII_KEYS=["brand-new-key"]):  # the old key can go
        assert protect.decrypt(Rating.objects.get(pk=case.rating_id).rater_phone_enc) == "13800138000"
        assert protect.decrypt(Case.objects.get(pk=case.pk).contact_name_enc) == "张三"
    assert AdminAction.objects.filter(action="rotate").exists()


def test_rehash_recomputes_lookup_hashes_under_a_new_hash_key(world):
    case = open_bad_review(world, phone="13800138000")
    with override_settings(PII_HASH_KEY="new-hash-key"):
        reports = rotate_ciphertexts(rehash=True)
        assert reports["ratings.Rating"].rewritten == 1 and reports["cases.Case"].rewritten == 1
        expected = protect.lookup_hash("13800138000")
        assert Rating.objects.get(pk=case.rating_id).rater_phone_hash == expected
        assert Case.objects.get(pk=case.pk).contact_phone_hash == expected
