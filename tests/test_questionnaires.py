"""Detail questionnaires (分项评价): versioned questions per 事项 and channel, voluntary answers kept absent."""

from __future__ import annotations

from django.test import Client

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.ratings.intake import clear_caches
from haochaping.ratings.models import Questionnaire, QuestionnaireAssignment, Rating
from haochaping.ratings.questionnaires import questionnaire_for
from haochaping.ratings.services import service_case_register
from tests.conftest import api_client, post_json


def register(world, case_no="BJ-Q-1"):
    return service_case_register(
        scope=ALL_SCOPE, case_no=case_no, item_code=world.a.item.implementation_code, staff_code=world.a.clerk.code
    )


def rate(world, case_no="BJ-Q-1", **body):
    data = {"case_no": case_no, "grade": "satisfied", "channel": "hall_tablet", **body}
    return post_json(api_client(world.key_a), "/api/v1/ratings", data)


def questionnaire(code, version=1, kind="onsite", questions=None, **extra):
    questions = questions or [{"code": "waiting_short", "text": "等候时间是否合理", "type": "choice"}]
    made = Questionnaire.objects.create(
        code=code, version=version, kind=kind, name=f"{code} v{version}", questions=questions, **extra
    )
    clear_caches()
    return made


def assign(questionnaire, service_item=None, channel=""):
    QuestionnaireAssignment.objects.create(questionnaire=questionnaire, service_item=service_item, channel=channel)
    clear_caches()


def test_it_has_a_default_questionnaire_per_kind(db):
    online = questionnaire_for(None, "pc")
    onsite = questionnaire_for(None, "hall_tablet")
    assert [q["code"] for q in online.questions] == [
        "guidance_clear",
        "process_convenient",
        "materials_simplified",
        "interface_friendly",
        "improvement",
    ]
    assert "interface_friendly" not in [q["code"] for q in onsite.questions]
    assert onsite.questions[-1] == {"code": "improvement", "text": "有何改进意见", "type": "text"}


def test_it_prefers_the_items_assignment_to_the_channels_and_the_kinds(world):
    item = world.a.item
    by_channel = questionnaire("by_channel")
    by_item = questionnaire("by_item")
    by_both = questionnaire("by_both")
    assert questionnaire_for(item.id, "hall_tablet").code == "onsite"
    assign(by_channel, channel="hall_tablet")
    assert questionnaire_for(item.id, "hall_tablet") == by_channel
    assert questionnaire_for(None, "hall_tablet") == by_channel
    assign(by_item, service_item=item)
    assert questionnaire_for(item.id, "hall_tablet") == by_item
    assert questionnaire_for(world.b.item.id, "hall_tablet") == by_channel
    assign(by_both, service_item=item, channel="hall_tablet")
    assert questionnaire_for(item.id, "hall_tablet") == by_both
    assert questionnaire_for(item.id, "qr") == by_item


def test_it_names_answers_with_an_unknown_question_or_a_bad_choice(world):
    register(world)
    unknown = rate(world, answers={"interface_friendly": "yes"})  # an online question, asked on-site
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "answers" and "interface_friendly" in unknown.json()["message"]
    bad = rate(world, answers={"guidance_clear": "maybe"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "answers"
    too_long = rate(world, answers={"improvement": "长" * 501})
    assert too_long.status_code == 422
    assert Rating.objects.count() == 0


def test_it_stores_the_questionnaire_version_and_leaves_unanswered_questions_absent(world):
    register(world)
    r = rate(world, answers={"guidance_clear": "no", "improvement": "希望增加自助机"})
    assert r.status_code == 201, r.content
    rating = Rating.objects.get()
    assert rating.answers == {"guidance_clear": "no", "improvement": "希望增加自助机"}
    assert "process_convenient" not in rating.answers
    assert (rating.questionnaire.code, rating.questionnaire.version) == ("onsite", 1)


def test_it_records_no_questionnaire_when_nothing_was_answered(world):
    register(world)
    assert rate(world).status_code == 201
    assert Rating.objects.get().questionnaire_id is None and Rating.objects.get().answers == {}


def test_it_keeps_old_ratings_on_their_version_when_a_new_one_is_activated(world):
    register(world, "BJ-Q-1")
    register(world, "BJ-Q-2")
    assert rate(world, answers={"materials_simplified": "yes"}).status_code == 201
    old = Questionnaire.objects.get(code="onsite", version=1)
    Questionnaire.objects.filter(pk=old.pk).update(is_active=False)
    v2 = questionnaire("onsite", version=2, is_active=True)
    assert rate(world, case_no="BJ-Q-2", answers={"materials_simplified": "yes"}).status_code == 422
    assert rate(world, case_no="BJ-Q-2", answers={"waiting_short": "unsure"}).status_code == 201
    first, second = Rating.objects.order_by("rated_at", "id")
    assert first.questionnaire == old and first.answers == {"materials_simplified": "yes"}
    assert second.questionnaire == v2 and second.answers == {"waiting_short": "unsure"}


def test_the_page_asks_the_items_questions_and_stores_only_the_answered(world):
    custom = questionnaire(
        "item_q",
        questions=[
            {"code": "queue_ok", "text": "排队叫号是否有序", "type": "choice"},
            {"code": "remark", "text": "还有什么想说的", "type": "text"},
        ],
    )
    assign(custom, service_item=world.a.item)
    reg = register(world)
    page = Client().get(f"/r/{reg.token}/").content.decode()
    assert "排队叫号是否有序" in page and 'name="q_queue_ok"' in page and '<textarea id="q_remark"' in page
    assert "服务指引是否清晰" not in page
    data = {"grade": "satisfied", "q_queue_ok": "yes", "q_remark": "", "idempotency_key": "qp-1"}
    r = Client().post(f"/r/{reg.token}/", data)
    assert r.status_code == 200 and "感谢您的评价" in r.content.decode()
    rating = Rating.objects.get()
    assert rating.answers == {"queue_ok": "yes"} and rating.questionnaire == custom


def test_the_paper_form_asks_the_paper_channels_questions(db):
    from haochaping.entry.forms import PaperForm

    form = PaperForm(scope=ALL_SCOPE)
    assert "q_guidance_clear" in form.fields and "q_improvement" in form.fields
    assert "q_interface_friendly" not in form.fields  # an online question: not on an on-site paper form


def test_the_admin_shows_a_saved_version_read_only_with_its_assignments(world):
    client = Client()
    client.force_login(world.users["root"])
    onsite = Questionnaire.objects.get(code="onsite", version=1)
    page = client.get(f"/admin/ratings/questionnaire/{onsite.pk}/change/")
    assert page.status_code == 200
    assert 'name="questions"' not in page.content.decode() and "assignments-TOTAL_FORMS" in page.content.decode()
    assert client.get("/admin/ratings/questionnaire/add/").status_code == 200
