"""差评整改公开: sync eligibility, refresh and retraction, moderation services and permissions, the moderation
pages, and the public list/detail (published only, filters, 400s)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from haochaping.cases import workdays
from haochaping.cases.models import Case, FeedbackGrade, Outcome
from haochaping.cases.services import case_act
from haochaping.disclosure import publication
from haochaping.disclosure.models import ModerationEvent, Publication
from haochaping.insight import text
from haochaping.lib.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.cases_helpers import evidence, open_bad_review, verify_case
from tests.conftest import api_client, post_json

Status = Publication.Status
Action = ModerationEvent.Action


@pytest.fixture(autouse=True)
def _fresh_pipeline():
    text.reset()  # the masking pipeline reads the directory's staff names: each test's own world
    yield
    text.reset()


def act(world, case: Case, action: str, **data) -> Case:
    files = [evidence()] if action in ("fix_now", "complete", "appeal") else []
    user = world.users["a_admin" if action == "approve_appeal" else "a_handler"]
    return case_act(case_id=case.pk, action=action, user=user, data=data, files=files)


def handled(world, outcome: str = "fix_now", *, comment: str = "排队太久，窗口人员态度差", public: bool = True,
            text_: str = "增开窗口，当场补办") -> Case:  # fmt: skip
    """A 差评 of county A taken to an outcome (fix_now | ledger | explain | not_adopted)."""
    case = verify_case(world, open_bad_review(world, comment=comment, public=public))
    if outcome == "fix_now":
        return act(world, case, "fix_now", measures=text_)
    if outcome == "ledger":
        deadline = workdays.add_workdays(timezone.now(), 3)
        return act(world, case, "open_ledger", measures=text_, deadline=deadline.isoformat())
    if outcome == "explain":
        return act(world, case, "explain", explanation=text_)
    act(world, case, "appeal", ground="mistaken", reason="监控显示误触")
    return act(world, case, "approve_appeal", note="同意")


def complaint_handled(world, content: str) -> Case:
    body = {"content": content, "contact_phone": "13800138000", "contact_name": "李四",
            "window": {"hall": world.a.hall.code, "code": world.a.window.code}}  # fmt: skip
    r = post_json(api_client(world.key_a), "/api/v1/complaints", body)
    assert r.status_code == 201, r.content
    case = verify_case(world, Case.objects.get(kind="complaint"))
    return act(world, case, "fix_now", measures="已约谈窗口负责人")


def pub_of(case: Case) -> Publication:
    return Publication.objects.get(case=case)


# --- sync -------------------------------------------------------------------------------------------------------


def test_sync_takes_eligible_cases_only(world):
    fixed = handled(world, "fix_now", comment="等了一个小时没人理")
    explained = handled(world, "explain", comment="不让我办", public=False, text_="依法须提交原件")
    ledger = handled(world, "ledger", text_="列入台账，增开窗口")
    set_aside = handled(world, "not_adopted")
    still_open = verify_case(world, open_bad_review(world))
    counts = publication.sync()
    assert counts["created"] == 3
    assert not Publication.objects.filter(case__in=[set_aside, still_open]).exists()
    p = pub_of(fixed)
    assert (p.status, p.outcome, p.comment_allowed, p.comment, p.response) == (
        Status.PENDING, Outcome.FIXED_NOW, True, "等了一个小时没人理", "增开窗口，当场补办"
    )  # fmt: skip
    assert (p.region, p.unit, p.hall, p.service_item, p.grade) == (
        fixed.region, fixed.unit, fixed.hall, fixed.service_item, fixed.grade
    )  # fmt: skip
    assert p.opened_on == timezone.localdate(fixed.opened_at) and p.outcome_on == timezone.localdate()
    e = pub_of(explained)
    assert (e.comment_allowed, e.comment, e.comment_auto, e.response) == (False, "", "", "依法须提交原件")
    assert pub_of(ledger).deadline == Case.objects.get(pk=ledger.pk).rectify_deadline
    assert list(ModerationEvent.objects.values_list("action", flat=True)) == [Action.CREATED] * 3
    assert ModerationEvent.objects.filter(publication=p).get().actor_label == publication.SYSTEM
    # idempotent: nothing new, no events
    again = publication.sync()
    assert again["created"] == again["refreshed"] == again["retracted"] == 0
    assert ModerationEvent.objects.count() == 3


def test_complaints_never_show_their_text(world):
    case = complaint_handled(world, "窗口人员刁难，我叫赵大伟")
    publication.sync()
    p = pub_of(case)
    assert (p.kind, p.comment_allowed, p.comment, p.comment_auto) == ("complaint", False, "", "")
    assert p.response == "已约谈窗口负责人"


def test_texts_are_masked_automatically(world):
    case = handled(world, comment="我叫张三丰，电话13812345678，窗口王小明态度差", text_="已联系李科长13912345678")
    publication.sync()
    p = pub_of(case)
    for value in (p.comment, p.comment_auto, p.response, p.response_auto):
        assert "13812345678" not in value and "13912345678" not in value
    assert "张三丰" not in p.comment and "王小明" not in p.comment and "李科长" not in p.response
    assert "[手机号]" in p.comment and "[姓名]" in p.comment


def test_refresh_keeps_redactions_when_the_source_did_not_change(world):
    case = handled(world, comment="等了一个小时没人理，很生气")
    publication.sync()
    p = pub_of(case)
    publication.redact(p, world.users["a_admin"], comment="等了一个小时没人理〔已删除〕", reason="情绪化表述")
    publication.publish(p, world.users["a_admin"])
    act(world, case, "rate_handling", feedback_grade=FeedbackGrade.SATISFIED)
    assert publication.sync()["refreshed"] == 1
    p.refresh_from_db()
    assert (p.status, p.feedback_grade, p.comment) == (
        Status.PUBLISHED,
        FeedbackGrade.SATISFIED,
        "等了一个小时没人理〔已删除〕",
    )
    event = p.events.get(action=Action.REFRESHED)
    assert event.before == {"feedback_grade": None} and event.after == {"feedback_grade": FeedbackGrade.SATISFIED}


def test_refresh_resets_the_text_and_unpublishes_when_the_source_changed(world):
    case = handled(world, "ledger", text_="列入台账，增开窗口")
    publication.sync()
    p = pub_of(case)
    publication.redact(p, world.users["a_admin"], response="列入台账", reason="简化")
    publication.publish(p, world.users["a_admin"])
    act(world, case, "complete", measures="已增开2个窗口，电话13812345678")
    publication.sync()
    p.refresh_from_db()
    assert p.status == Status.PENDING and p.published_at is None
    assert p.response == p.response_auto == "已增开2个窗口，电话[手机号]"
    assert p.rectified_on == timezone.localdate()
    event = p.events.get(action=Action.REFRESHED)
    assert event.before["status"] == Status.PUBLISHED and event.after["status"] == Status.PENDING
    assert "重新审核" in event.reason


def test_reopened_case_is_retracted_and_comes_back_when_handled_again(world, client):
    case = handled(world)
    publication.sync()
    p = pub_of(case)
    publication.publish(p, world.users["a_admin"])
    assert client.get(f"/open/rectifications/{p.pk}/").status_code == 200
    act(world, case, "rate_handling", feedback_grade=FeedbackGrade.DISSATISFIED)  # 重办: the outcome is cleared
    assert publication.sync()["retracted"] == 1
    p.refresh_from_db()
    assert (p.status, p.withheld_reason) == (Status.WITHHELD, publication.RETRACTED_REASON)
    assert p.events.filter(action=Action.RETRACTED).count() == 1
    assert client.get(f"/open/rectifications/{p.pk}/").status_code == 404
    with pytest.raises(Conflict):
        publication.restore(p, world.users["a_admin"])
    # handled again: back to pending for a new review
    u = world.users
    data = {"at": timezone.now(), "channel": "phone", "reached": True, "rater_said": "还是不行"}
    case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=data)
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "属实"})
    act(world, case, "fix_now", measures="重新办理完毕")
    assert publication.sync()["back"] == 1
    p.refresh_from_db()
    assert (p.status, p.withheld_reason, p.response) == (Status.PENDING, "", "重新办理完毕")


def test_set_aside_after_publication_is_retracted(world):
    case = handled(world)
    publication.sync()
    p = pub_of(case)
    publication.publish(p, world.users["a_admin"])
    from haochaping.ratings.codes import Adoption
    from haochaping.ratings.models import Rating

    Rating.objects.filter(pk=case.rating_id).update(adoption=Adoption.NOT_ADOPTED)
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    publication.sync()
    p.refresh_from_db()
    assert p.status == Status.WITHHELD and not publication.published().exists()


def test_periodic_task_and_command(world):
    from haochaping.disclosure.tasks import disclosure_sync

    handled(world)
    disclosure_sync()  # huey runs immediately in tests
    assert Publication.objects.filter(status=Status.PENDING).count() == 1
    handled(world, "explain")
    call_command("disclosure", "sync")
    call_command("disclosure", "publish", "--user", "b_admin", "--all-pending")  # county B sees none of A's
    assert Publication.objects.filter(status=Status.PENDING).count() == 2
    call_command("disclosure", "publish", "--user", "a_admin", "--all-pending", "--region", world.a.region.code)
    assert Publication.objects.filter(status=Status.PUBLISHED).count() == 2
    call_command("disclosure", "status")


# --- moderation services --------------------------------------------------------------------------------------------


@pytest.fixture
def pending(world) -> Publication:
    handled(world, comment="窗口人员一直玩手机，等了一个小时")
    publication.sync()
    return Publication.objects.get()


@pytest.mark.parametrize("username", ["a_admin", "city_admin", "root"])
def test_agency_of_the_region_publishes(world, pending, username):
    p = publication.publish(pending, world.users[username])
    assert (p.status, p.moderated_by) == (Status.PUBLISHED, world.users[username])
    assert p.published_at is not None
    event = p.events.get(action=Action.PUBLISHED)
    assert event.actor == world.users[username] and event.after == {"status": Status.PUBLISHED}
    with pytest.raises(Conflict):
        publication.publish(p, world.users[username])


@pytest.mark.parametrize(
    ("username", "error"),
    [("a_inspector", PermissionDenied), ("a_auditor", PermissionDenied), ("a_dept_admin", PermissionDenied),
     ("a_handler", PermissionDenied), ("b_admin", NotFound), ("nobody", PermissionDenied)],
)  # fmt: skip
def test_others_may_not_moderate(world, pending, username, error):
    user = world.users[username]
    for call in (
        lambda: publication.publish(pending, user),
        lambda: publication.withhold(pending, user, "理由"),
        lambda: publication.redact(pending, user, comment="", reason="理由"),
    ):
        with pytest.raises(error):
            call()
    pending.refresh_from_db()
    assert pending.status == Status.PENDING and pending.events.count() == 1


def test_withhold_needs_a_reason_and_restore_brings_it_back(world, pending):
    admin = world.users["a_admin"]
    with pytest.raises(ValidationFailed) as exc:
        publication.withhold(pending, admin, "  ")
    assert exc.value.field == "reason"
    publication.publish(pending, admin)
    p = publication.withhold(pending, admin, "涉及第三方隐私")
    assert (p.status, p.withheld_reason, p.published_at) == (Status.WITHHELD, "涉及第三方隐私", None)
    p = publication.restore(p, admin)
    assert (p.status, p.withheld_reason) == (Status.PENDING, "")
    assert list(p.events.values_list("action", flat=True)) == [
        Action.CREATED, Action.PUBLISHED, Action.WITHHELD, Action.RESTORED
    ]  # fmt: skip
    with pytest.raises(Conflict):
        publication.restore(p, admin)


def test_redaction_only_removes(world, pending):
    admin = world.users["a_admin"]
    with pytest.raises(ValidationFailed) as exc:
        publication.redact(pending, admin, comment="窗口人员一直玩手机", reason="")
    assert exc.value.field == "reason"
    with pytest.raises(ValidationFailed) as exc:
        publication.redact(pending, admin, comment="窗口人员一直玩手机，服务很好", reason="改写")
    assert exc.value.field == "comment"
    with pytest.raises(ValidationFailed) as exc:
        publication.redact(pending, admin, response="另外加一句", reason="改写")
    assert exc.value.field == "response"
    p = publication.redact(pending, admin, comment="窗口人员〔已删除〕，等了＊＊＊小时", reason="删除细节")
    assert p.comment == "窗口人员〔已删除〕，等了＊＊＊小时"
    event = p.events.get(action=Action.REDACTED)
    assert event.before == {"comment": "窗口人员一直玩手机，等了一个小时"}
    assert event.after == {"comment": p.comment} and event.reason == "删除细节"
    # a later redaction may bring back what the automatic text had (never more)
    p = publication.redact(p, admin, comment="窗口人员一直玩手机〔已删除〕", reason="恢复部分")
    assert p.comment == "窗口人员一直玩手机〔已删除〕"


def test_redaction_of_a_text_the_rater_did_not_allow(world):
    handled(world, public=False)
    publication.sync()
    p = Publication.objects.get()
    with pytest.raises(ValidationFailed) as exc:
        publication.redact(p, world.users["a_admin"], comment="排队太久", reason="x")
    assert exc.value.field == "comment"


def test_publish_many_within_scope(world):
    for _ in range(3):
        handled(world)
    publication.sync()
    ids = list(Publication.objects.values_list("id", flat=True))
    assert publication.publish_many(ids, world.users["b_admin"]) == 0
    with pytest.raises(PermissionDenied):
        publication.publish_many(ids, world.users["a_inspector"])
    with pytest.raises(ValidationFailed):
        publication.publish_many(["x"], world.users["a_admin"])
    assert publication.publish_many(ids, world.users["a_admin"]) == 3
    assert publication.publish_many(ids, world.users["a_admin"]) == 0  # already published
    assert ModerationEvent.objects.filter(action=Action.PUBLISHED).count() == 3


# --- moderation pages -------------------------------------------------------------------------------------------


def logged_in(world, username: str) -> Client:
    c = Client()
    c.force_login(world.users[username])
    return c


def test_moderation_queue_and_bulk_publish(world, pending):
    r = logged_in(world, "a_admin").get("/disclosure/moderation/")
    assert r.status_code == 200 and "窗口人员一直玩手机" in r.text and 'name="ids"' in r.text
    assert logged_in(world, "a_admin").get("/disclosure/moderation/?status=bogus").status_code == 400
    assert logged_in(world, "a_admin").get(f"/disclosure/moderation/?unit={world.b.dept.pk}").status_code == 400
    r = logged_in(world, "a_admin").post("/disclosure/moderation/", {"ids": [pending.pk]})
    assert r.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Status.PUBLISHED
    r = logged_in(world, "a_admin").post("/disclosure/moderation/", {})
    assert r.status_code == 422 and "请选择" in r.text


def test_moderation_page_access(world, pending):
    url = f"/disclosure/moderation/{pending.pk}/"
    assert Client().get(url).status_code == 302  # login
    for username in ("a_inspector", "a_auditor", "a_dept_admin"):
        c = logged_in(world, username)
        assert c.get(url).status_code == 200
        assert c.get("/disclosure/moderation/").status_code == 200
        assert c.post(url, {"action": "publish"}).status_code == 403
        assert c.post("/disclosure/moderation/", {"ids": [pending.pk]}).status_code == 403
    for username in ("a_handler", "a_clerk", "nobody"):
        assert logged_in(world, username).get("/disclosure/moderation/").status_code == 403
    assert logged_in(world, "b_admin").get(url).status_code == 404
    assert logged_in(world, "b_admin").post(url, {"action": "publish"}).status_code == 404
    pending.refresh_from_db()
    assert pending.status == Status.PENDING


def test_moderation_detail_actions(world, pending):
    c = logged_in(world, "a_admin")
    url = f"/disclosure/moderation/{pending.pk}/"
    r = c.get(url)
    assert r.status_code == 200 and "审核记录" in r.text and pending.case.number in r.text
    r = c.post(url, {"action": "withhold", "reason": ""})
    assert r.status_code == 422 and "reason" in r.text
    r = c.post(url, {"action": "redact", "comment": "窗口人员〔已删除〕", "response": pending.response, "reason": "x"})
    assert r.status_code == 302
    r = c.post(url, {"action": "redact", "comment": "全新的文字", "response": pending.response, "reason": "x"})
    assert r.status_code == 422 and "comment" in r.text
    assert c.post(url, {"action": "publish"}).status_code == 302
    assert c.post(url, {"action": "withhold", "reason": "涉及第三方隐私"}).status_code == 302
    assert c.post(url, {"action": "restore"}).status_code == 302
    assert c.post(url, {"action": "explode"}).status_code == 422
    pending.refresh_from_db()
    assert pending.status == Status.PENDING and pending.comment == "窗口人员〔已删除〕"
    r = c.get(url)
    for label in ("人工删改", "公开", "不予公开", "恢复待审核", "涉及第三方隐私"):
        assert label in r.text


def test_tools_and_admin(world, pending):
    r = logged_in(world, "a_admin").get("/")
    assert "/disclosure/moderation/" in r.text
    from django.contrib.auth.models import Permission

    # the role groups (accounts/roles.py) grant the view permission; here it is given directly
    view = Permission.objects.filter(codename__in=["view_publication", "view_moderationevent"])
    for username in ("a_admin", "b_admin"):
        world.users[username].user_permissions.add(*view)
    assert logged_in(world, "a_admin").get("/admin/disclosure/publication/").status_code == 200
    assert logged_in(world, "a_admin").get(f"/admin/disclosure/publication/{pending.pk}/change/").status_code == 200
    assert logged_in(world, "b_admin").get(f"/admin/disclosure/publication/{pending.pk}/change/").status_code == 404
    r = logged_in(world, "b_admin").get("/admin/disclosure/moderationevent/")
    assert r.status_code == 200 and r.context["cl"].result_count == 0
    r = logged_in(world, "root").get("/admin/disclosure/moderationevent/")
    assert r.status_code == 200 and r.context["cl"].result_count == 1


# --- the public pages -------------------------------------------------------------------------------------------


@pytest.fixture
def shown(world):
    """One published (county A, public text), one withheld, one pending, one published without text."""
    admin = world.users["a_admin"]
    a1 = handled(world, comment="材料被退回三次", text_="一次性告知到位")
    a2 = handled(world, comment="被隐瞒的文字", text_="不该出现的措施")
    a3 = handled(world, comment="尚未审核的文字", text_="尚未审核的措施")
    a4 = handled(world, "explain", comment="不公开的文字", public=False, text_="依法须提交原件")
    publication.sync()
    publication.publish(pub_of(a1), admin)
    publication.withhold(pub_of(a2), admin, "内部理由不可见")
    publication.publish(pub_of(a4), admin)
    return {"published": pub_of(a1), "withheld": pub_of(a2), "pending": pub_of(a3), "silent": pub_of(a4)}


def test_public_list_shows_published_only(world, shown, client):
    r = client.get("/open/rectifications/")
    assert r.status_code == 200
    assert "材料被退回三次" in r.text and "一次性告知到位" in r.text and "依法须提交原件" in r.text
    for hidden in ("被隐瞒的文字", "不该出现的措施", "尚未审核的文字", "尚未审核的措施", "内部理由不可见",
                   "不公开的文字", "王小明", "a_admin", "审核记录", shown["published"].case.number):  # fmt: skip
        assert hidden not in r.text, hidden
    assert "评价人未同意公开文字内容" in r.text
    assert r.context["summary"]["total"] == 2
    assert {row["outcome"]: row["n"] for row in r.context["summary"]["by_outcome"]} == {
        "fixed_now": 1, "ledger": 0, "explained": 1
    }  # fmt: skip


def test_public_detail(world, shown, client):
    r = client.get(f"/open/rectifications/{shown['published'].pk}/")
    assert r.status_code == 200 and "材料被退回三次" in r.text and world.a.dept.name in r.text
    for key in ("withheld", "pending"):
        assert client.get(f"/open/rectifications/{shown[key].pk}/").status_code == 404
    assert client.get("/open/rectifications/999999/").status_code == 404
    assert client.post(f"/open/rectifications/{shown['published'].pk}/").status_code == 405


def test_public_filters(world, shown, client):
    def total(**params) -> int:
        r = client.get("/open/rectifications/", params)
        assert r.status_code == 200, r.text
        return r.context["summary"]["total"]

    month = shown["published"].opened_on.strftime("%Y-%m")
    assert total(region=world.province.code) == 2
    assert total(region=world.a.region.code) == 2
    assert total(region=world.b.region.code) == 0
    assert total(unit=world.a.dept.pk) == 2
    assert total(outcome="explained") == 1
    assert total(month=month) == 2 and total(month="2001-01") == 0
    assert total(page="999") == 2
    for field, value in (("region", "33"), ("region", "999999999999"), ("unit", "abc"), ("unit", "999999"),
                         ("outcome", "not_adopted"), ("month", "2026-13"), ("month", "nov")):  # fmt: skip
        r = client.get("/open/rectifications/", {field: value})
        assert r.status_code == 400 and field in r.text, (field, value)


def test_demo_seed(world):
    from haochaping.disclosure.demo import seed_demo

    for _ in range(5):
        handled(world)
    lines: list[str] = []
    result = seed_demo(lines.append)
    assert result["synced"]["created"] == 5 and result["withheld"] == 3 and result["redacted"] == 1
    assert result["published"] == 2 and "差评整改公开" in lines[0]
    assert ModerationEvent.objects.filter(action=Action.WITHHELD).exclude(reason="").count() == 3
