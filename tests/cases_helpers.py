"""Helpers shared by the case tests: open a 差评 through the real intake path, act as a user."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import scope_for_api_key
from haochaping.cases.models import Case
from haochaping.ratings.intake import submit_ratings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def evidence(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def open_bad_review(world, *, phone: str | None = "13800138000", grade: str = "dissatisfied", **extra) -> Case:
    """Store a 差评 of county A's window through intake and return the case it opened."""
    key = ApiKey.objects.get(name="上城区审批系统")
    item = {
        "grade": grade,
        "channel": "qr",
        "window": {"hall": world.a.hall.code, "code": world.a.window.code},
        "comment": "排队太久，窗口人员态度差",
        **extra,
    }
    if phone:
        item.update(rater_phone=phone, anonymous=False)
    [result] = submit_ratings([item], scope=scope_for_api_key(key), client="test")
    assert result.ok, result.message
    return Case.objects.get(rating__public_id=result.rating_id)


def wipe_ratings() -> None:
    """Delete every rating and the cases they opened (tests that re-import the same ratings)."""
    from haochaping.cases.models import Appeal, CallbackAttempt, CaseAttachment, CaseEvent, Notification
    from haochaping.ratings.models import Rating

    for model in (Notification, CaseAttachment, CaseEvent, CallbackAttempt, Appeal, Case, Rating):
        model.objects.all().delete()


def verify_case(world, case: Case, *, rater_said: str = "态度差", facts: str = "属实") -> Case:
    """Take a new case through assignment to a_handler, a reached call-back and verification."""
    from django.utils import timezone

    from haochaping.cases.services import case_act

    u = world.users
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    data = {"at": timezone.now(), "channel": "phone", "reached": True, "rater_said": rater_said}
    case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=data)
    return case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": facts})
