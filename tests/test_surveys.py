"""服务调查 services and selectors: the builder's rules, sampling, SMS invitations, answers and results by unit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import ALL_SCOPE, scope_for_api_key, scope_for_user
from haochaping.lib.errors import Conflict, Gone, NotFound, ValidationFailed
from haochaping.messaging.models import SmsMessage
from haochaping.ratings.codes import CaseStatus
from haochaping.ratings.services import service_case_register
from haochaping.surveys import selectors, services
from haochaping.surveys.models import Answer, Invitation, Question, Response, Survey
from haochaping.surveys.services import QuestionIn, SurveyIn

pytestmark = pytest.mark.django_db

KEYS = {"a": "上城区审批系统", "b": "拱墅区审批系统"}


# --- helpers (also used by the page, public, browser and authz tests) ------------------------------------------


def completed_cases(world, side: str = "a", n: int = 5, *, days_ago: float = 1, phone: bool = True,
                    prefix: str = "SV", start: int = 0) -> list[str]:  # fmt: skip
    """Register ``n`` completed 办件 of county ``side`` (a or b), completed ``days_ago`` days ago."""
    county = getattr(world, side)
    scope = scope_for_api_key(ApiKey.objects.get(name=KEYS[side]))
    done = timezone.now() - timedelta(days=days_ago)
    numbers = []
    for i in range(start, start + n):
        numbers.append(f"{prefix}{side.upper()}{i:04d}")
        service_case_register(
            scope=scope, case_no=f"{prefix}{side.upper()}{i:04d}", item_code=county.item.implementation_code,
            status=CaseStatus.COMPLETED, applicant_phone=f"139{ord(side):02d}{i:06d}"[:11] if phone else "",
            accepted_at=done - timedelta(hours=1), completed_at=done,
        )  # fmt: skip
    return numbers


STANDARD = [
    QuestionIn("scale", "您对本次办事的总体满意度", True, [], 5),
    QuestionIn("single", "办事等候时间", True, ["10分钟以内", "10–30分钟", "30分钟以上"]),
    QuestionIn("multiple", "哪些方面需要改进", False, ["等候时间", "服务态度", "材料要求", "线上办理"]),
    QuestionIn("text", "意见建议", False),
]


def make_survey(world, *, side: str = "a", actor: str = "a_admin", open_it: bool = True, questions=STANDARD,
                **extra) -> Survey:  # fmt: skip
    user = world.users[actor]
    county = getattr(world, side)
    survey = services.survey_create(
        SurveyIn(title="政务服务满意度调查", region_id=county.region.pk, **extra), scope=scope_for_user(user),
        actor=user,
    )  # fmt: skip
    for q in questions:
        services.question_add(survey, q)
    if open_it:
        services.survey_open(survey)
    survey.refresh_from_db()
    return survey


def link_tokens(survey: Survey, n: int = 1, *, channel: str = "link", seed: int = 1) -> list[str]:
    report = services.invitations_create(survey, channel=channel, size=n, seed=seed)
    return [row[0] for row in report.links]


def answers_for(survey: Survey, scale: int = 5, single: int = 0, multiple=(1,), text: str = "") -> dict:
    out = {}
    for q in survey.questions.all():
        if q.kind == "scale":
            out[q.pk] = [str(scale)]
        elif q.kind == "single":
            out[q.pk] = [str(single)]
        elif q.kind == "multiple":
            out[q.pk] = [str(m) for m in multiple]
        else:
            out[q.pk] = [text]
    return out


# --- builder -----------------------------------------------------------------------------------------------------


def test_survey_create_names_the_bad_field(world):
    scope = scope_for_user(world.users["a_admin"])
    with pytest.raises(ValidationFailed) as exc:
        services.survey_create(SurveyIn(title=" "), scope=scope, actor=world.users["a_admin"])
    assert exc.value.field == "title"
    with pytest.raises(ValidationFailed) as exc:
        services.survey_create(
            SurveyIn(title="x", region_id=world.b.region.pk), scope=scope, actor=world.users["a_admin"]
        )
    assert exc.value.field == "region"
    with pytest.raises(ValidationFailed) as exc:
        services.survey_create(SurveyIn(title="x", unit_id=world.b.dept.pk), scope=scope, actor=world.users["a_admin"])
    assert exc.value.field == "unit"
    with pytest.raises(ValidationFailed) as exc:
        services.survey_create(
            SurveyIn(title="x", service_item_code=world.b.item.implementation_code), scope=scope,
            actor=world.users["a_admin"],
        )  # fmt: skip
    assert exc.value.field == "service_item"
    with pytest.raises(ValidationFailed) as exc:
        services.survey_create(
            SurveyIn(title="x", closes_on=timezone.localdate() - timedelta(days=1)), scope=scope,
            actor=world.users["a_admin"],
        )  # fmt: skip
    assert exc.value.field == "closes_on"
    survey = services.survey_create(
        SurveyIn(title="窗口调查", unit_id=world.a.dept.pk, service_item_code=world.a.item.implementation_code),
        scope=scope, actor=world.users["a_admin"],
    )  # fmt: skip
    assert (survey.region, survey.unit, survey.service_item, survey.state) == (
        world.a.region, world.a.dept, world.a.item, Survey.State.DRAFT)  # fmt: skip


def test_read_only_roles_cannot_create(world):
    from haochaping.lib.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.survey_create(SurveyIn(title="x"), scope=scope_for_user(world.users["a_inspector"]), actor=None)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (QuestionIn("bogus", "q"), "kind"),
        (QuestionIn("single", ""), "text"),
        (QuestionIn("single", "x" * 301, True, ["a", "b"]), "text"),
        (QuestionIn("single", "q", True, ["only"]), "options"),
        (QuestionIn("multiple", "q", True, [str(i) for i in range(21)]), "options"),
        (QuestionIn("single", "q", True, ["a", "a"]), "options"),
        (QuestionIn("single", "q", True, ["a", "b" * 101]), "options"),
        (QuestionIn("scale", "q", True, [], 7), "scale_max"),
    ],
)
def test_question_validation_names_the_field(world, data, field):
    survey = make_survey(world, open_it=False, questions=[])
    with pytest.raises(ValidationFailed) as exc:
        services.question_add(survey, data)
    assert exc.value.field == field


def test_questions_are_ordered_moved_edited_removed_then_frozen(world):
    survey = make_survey(world, open_it=False)
    texts = lambda: list(survey.questions.order_by("order").values_list("text", flat=True))  # noqa: E731
    first, second = survey.questions.order_by("order")[:2]
    services.question_move(second, up=True)
    assert texts()[:2] == [second.text, first.text]
    services.question_move(second, up=True)  # already first: nothing happens
    assert texts()[0] == second.text
    services.question_update(first, QuestionIn("scale", "改成打分题", False, [], 10))
    first.refresh_from_db()
    assert (first.kind, first.scale_max, first.options, first.required) == ("scale", 10, [], False)
    services.question_remove(first)
    assert len(texts()) == 3
    services.survey_open(survey)
    with pytest.raises(Conflict):
        services.question_add(survey, QuestionIn("text", "晚了"))
    with pytest.raises(Conflict):
        services.question_update(second, QuestionIn("text", "晚了"))
    with pytest.raises(Conflict):
        services.question_remove(second)


def test_open_needs_a_question_and_close_needs_open(world):
    survey = make_survey(world, open_it=False, questions=[])
    with pytest.raises(ValidationFailed) as exc:
        services.survey_open(survey)
    assert exc.value.field == "questions"
    with pytest.raises(Conflict):
        services.survey_close(survey)
    services.question_add(survey, STANDARD[0])
    services.survey_open(survey)
    with pytest.raises(Conflict):
        services.survey_open(survey)
    closed = services.survey_close(survey)
    assert closed.state == Survey.State.CLOSED and closed.closed_at


# --- sampling and invitations ------------------------------------------------------------------------------------


def test_sms_sample_is_recent_in_region_with_phone_and_never_twice(world, settings):
    settings.HAOCHAPING_SMS_BACKEND = "console"
    completed_cases(world, "a", 6)
    completed_cases(world, "a", 2, phone=False, start=100)
    completed_cases(world, "a", 3, days_ago=45, start=200)  # too old
    completed_cases(world, "b", 4)  # another county
    survey = make_survey(world)
    report = services.invitations_create(survey, channel="sms", size=4, seed=7)
    assert (report.requested, report.recent, report.sampled, report.sent, report.failed) == (4, 8, 4, 4, 0)
    assert report.links == []
    again = services.invitations_create(survey, channel="sms", size=10, seed=8)
    assert (again.sampled, again.already_invited, again.no_phone, again.short) == (2, 4, 2, 8)
    invitations = Invitation.objects.filter(survey=survey)
    assert invitations.count() == 6
    assert set(invitations.values_list("region_id", flat=True)) == {world.a.region.pk}
    assert set(invitations.values_list("unit_id", flat=True)) == {world.a.dept.pk}
    assert set(invitations.values_list("service_item_id", flat=True)) == {world.a.item.pk}
    assert invitations.values("phone_hash").distinct().count() == 6
    sms = SmsMessage.objects.filter(kind=SmsMessage.Kind.SURVEY)
    assert sms.count() == 6 and set(sms.values_list("status", flat=True)) == {"sent"}
    message = sms.first()
    assert "邀请您参加政务服务满意度调查，约" in message.text and message.text.endswith("/s/…/")
    assert message.service_case_id is not None
    assert Invitation.objects.filter(sms=message).count() == 1
    # nothing stored lets anyone answer in the applicant's place
    assert all(len(h) == 64 for h in invitations.values_list("token_hash", flat=True))


def test_same_phone_is_invited_once_per_survey(world):
    scope = scope_for_api_key(ApiKey.objects.get(name=KEYS["a"]))
    done = timezone.now() - timedelta(days=2)
    for i in range(3):
        service_case_register(
            scope=scope, case_no=f"SAME{i}", item_code=world.a.item.implementation_code,
            status=CaseStatus.COMPLETED, applicant_phone="13900001111", completed_at=done,
        )  # fmt: skip
    survey = make_survey(world)
    report = services.invitations_create(survey, channel="sms", size=3, seed=1)
    assert (report.sampled, report.already_invited) == (1, 2)


def test_sample_respects_unit_and_item_limits_and_days(world):
    from haochaping.directory.models import ServiceItem

    other = ServiceItem.objects.create(
        basic_code="000101002000", implementation_code=f"{world.a.dept.uscc}000101002000", name="其他事项",
        item_type="01", service_objects="1", unit=world.a.dept, region=world.a.region,
    )  # fmt: skip
    completed_cases(world, "a", 3)
    scope = scope_for_api_key(ApiKey.objects.get(name=KEYS["a"]))
    service_case_register(scope=scope, case_no="OTHER1", item_code=other.implementation_code,
                          status=CaseStatus.COMPLETED, applicant_phone="13700000001",
                          completed_at=timezone.now() - timedelta(days=1))  # fmt: skip
    limited = make_survey(world, service_item_code=world.a.item.implementation_code)
    report = services.invitations_create(limited, channel="link", size=10)
    assert report.recent == 3 and report.sampled == 3
    assert {row[4] for row in report.links} == {world.a.item.name}
    survey = make_survey(world, unit_id=world.a.dept.pk)
    assert services.invitations_create(survey, channel="qr", size=10, days=30).recent == 4
    completed_cases(world, "a", 2, days_ago=10, start=50)
    assert services.invitations_create(survey, channel="qr", size=10, days=5).recent == 4  # the 2 are too old


def test_size_cap_and_bad_parameters(world, settings):
    settings.HAOCHAPING_SURVEY_MAX_SAMPLE = 3
    survey = make_survey(world)
    for kwargs, field in (({"size": 4}, "size"), ({"size": 0}, "size"), ({"size": 1, "days": 0}, "days"),
                          ({"size": 1, "channel": "fax"}, "channel")):  # fmt: skip
        kwargs = {"channel": "sms", **kwargs}
        with pytest.raises(ValidationFailed) as exc:
            services.invitations_create(survey, **kwargs)
        assert exc.value.field == field
    with pytest.raises(ValidationFailed, match="一次最多发放3份"):
        services.invitations_create(survey, channel="sms", size=4)


def test_only_open_surveys_distribute(world):
    completed_cases(world, "a", 2)
    draft = make_survey(world, open_it=False)
    with pytest.raises(Conflict):
        services.invitations_create(draft, channel="link", size=1)
    survey = make_survey(world)
    services.survey_close(survey)
    with pytest.raises(Conflict):
        services.invitations_create(survey, channel="link", size=1)


def test_failed_gateway_is_counted(world, settings, monkeypatch):
    from haochaping.messaging import gateway

    class Broken:
        def send(self, phone, text):
            raise gateway.GatewayError("down")

    monkeypatch.setattr(gateway, "get_backend", lambda: Broken())
    completed_cases(world, "a", 2)
    report = services.invitations_create(make_survey(world), channel="sms", size=2)
    assert (report.sampled, report.sent, report.failed) == (2, 0, 2)


# --- answering ---------------------------------------------------------------------------------------------------


def test_response_is_stored_scored_masked_and_only_once(world):
    completed_cases(world, "a", 1)
    survey = make_survey(world, questions=[*STANDARD, QuestionIn("scale", "工作人员服务", True, [], 10)])
    [token] = link_tokens(survey)
    posted = answers_for(survey, scale=4, text="请联系我13912345678，张三说可以")
    ten = survey.questions.get(scale_max=10)
    posted[ten.pk] = ["10"]
    response = services.response_submit(token, posted)
    # (4-1)/4*100 = 75 and (10-1)/9*100 = 100 → 87.5
    assert response.score == Decimal("87.5")
    text = Answer.objects.get(response=response, question__kind="text").text
    assert "13912345678" not in text
    invitation = response.invitation
    assert invitation.responded_at and invitation.opened_at
    with pytest.raises(Conflict):
        services.response_submit(token, posted)
    assert Response.objects.count() == 1


def test_every_bad_answer_is_reported_per_question(world):
    completed_cases(world, "a", 1)
    survey = make_survey(world)
    [token] = link_tokens(survey)
    qs = {q.kind: q for q in survey.questions.all()}
    posted = {qs["scale"].pk: ["6"], qs["single"].pk: ["0", "1"], qs["multiple"].pk: ["9"], qs["text"].pk: ["x" * 1001]}
    with pytest.raises(ValidationFailed) as exc:
        services.response_submit(token, posted)
    assert {e["field"] for e in exc.value.errors} == {f"q{q.pk}" for q in qs.values()}
    with pytest.raises(ValidationFailed) as exc:
        services.response_submit(token, {})
    assert {e["field"] for e in exc.value.errors} == {f"q{qs['scale'].pk}", f"q{qs['single'].pk}"}
    assert not Response.objects.exists()


def test_score_none_without_scale_answers(world):
    completed_cases(world, "a", 1)
    survey = make_survey(world, questions=[STANDARD[1]])
    [token] = link_tokens(survey)
    assert services.response_submit(token, answers_for(survey, single=2)).score is None
    assert services.response_score([(1, 5), (5, 5)]) == Decimal("50.0")


def test_unknown_token_and_closed_survey(world):
    completed_cases(world, "a", 1)
    survey = make_survey(world)
    [token] = link_tokens(survey)
    with pytest.raises(NotFound):
        services.invitation_for_token("nope")
    services.survey_close(survey)
    with pytest.raises(Gone):
        services.invitation_for_token(token)
    with pytest.raises(Gone):
        services.response_submit(token, answers_for(survey))


def test_closes_on_past_stops_answers(world):
    completed_cases(world, "a", 1)
    survey = make_survey(world)
    [token] = link_tokens(survey)
    Survey.objects.filter(pk=survey.pk).update(closes_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(Gone):
        services.invitation_for_token(token)


# --- results -----------------------------------------------------------------------------------------------------


def _answered_world(world):
    """County A: 4 invited, 3 answer (scores 100, 75, 0); county B: 2 invited, 1 answers (50)."""
    completed_cases(world, "a", 4)
    completed_cases(world, "b", 2)
    user = world.users["city_admin"]
    survey = services.survey_create(SurveyIn(title="全市调查", region_id=world.city.pk), scope=scope_for_user(user),
                                    actor=user)  # fmt: skip
    for q in STANDARD:
        services.question_add(survey, q)
    services.survey_open(survey)
    report = services.invitations_create(survey, channel="link", size=6, seed=3)
    tokens = {"a": [], "b": []}
    for token, _url, case_no, _unit, _item in report.links:
        tokens["a" if case_no.startswith("SVA") else "b"].append(token)
    for token, scale in zip(tokens["a"], (5, 4, 1), strict=False):
        services.response_submit(token, answers_for(survey, scale=scale, single=scale % 3, text=f"意见{scale}"))
    services.response_submit(tokens["b"][0], answers_for(survey, scale=3, multiple=(0, 2)))
    return survey


def test_results_by_unit_item_channel_and_question(world):
    survey = _answered_world(world)
    total = selectors.overall(survey, ALL_SCOPE)
    assert (total.invited, total.responded, total.rate) == (6, 4, 66.7)
    units = {r.key: r for r in selectors.by_unit(survey, ALL_SCOPE)}
    assert (units[world.a.dept.pk].invited, units[world.a.dept.pk].responded) == (4, 3)
    assert units[world.a.dept.pk].score == Decimal("58.3")
    assert units[world.b.dept.pk].score == Decimal("50.0") and units[world.b.dept.pk].rate == 50.0
    items = {r.key: r for r in selectors.by_item(survey, ALL_SCOPE)}
    assert items[world.b.item.pk].responded == 1
    [link] = selectors.by_channel(survey, ALL_SCOPE)
    assert (link.key, link.invited) == ("link", 6)
    results = {r.question.kind: r for r in selectors.question_results(survey, ALL_SCOPE)}
    scale = results["scale"]
    assert scale.answered == 4 and scale.mean == 3.25 and [n for _v, n, _s in scale.scale] == [1, 0, 1, 1, 1]
    multiple = results["multiple"]
    assert multiple.answered == 4 and multiple.options[1][1] == 3 and multiple.options[0][2] == 25.0
    assert [t for _at, t in results["text"].texts][0].startswith("意见")
    # the county's administrator sees only county A's invitations of the city's survey
    a_scope = scope_for_user(world.users["a_admin"])
    assert selectors.visible_surveys(a_scope).filter(pk=survey.pk).exists()
    assert not selectors.managed_surveys(a_scope).filter(pk=survey.pk).exists()
    assert selectors.overall(survey, a_scope).invited == 4
    dept = scope_for_user(world.users["a_dept_admin"])
    assert selectors.overall(survey, dept).responded == 3
    assert not selectors.visible_surveys(scope_for_user(world.users["b_admin"])).filter(
        region=world.a.region).exists()  # fmt: skip


def test_unit_and_item_scores_for_a_period(world):
    _answered_world(world)
    today = timezone.localdate()
    scores = selectors.unit_scores(ALL_SCOPE, today - timedelta(days=1), today)
    assert scores[world.a.dept.pk] == {"invited": 4, "responses": 3, "score": Decimal("58.3")}
    assert scores[world.b.dept.pk]["responses"] == 1
    a_only = selectors.unit_scores(scope_for_user(world.users["a_admin"]), today, today)
    assert set(a_only) == {world.a.dept.pk}
    items = selectors.item_scores(ALL_SCOPE, today, today)
    assert items[world.a.item.pk]["responses"] == 3
    assert selectors.unit_scores(ALL_SCOPE, today - timedelta(days=9), today - timedelta(days=2)) == {}


def test_answer_rows_are_masked_choices_by_label(world):
    survey = _answered_world(world)
    rows = list(selectors.answer_rows(survey, ALL_SCOPE))
    assert len(rows) == 4
    _resp, invitation, shown = rows[0]
    single = survey.questions.get(kind=Question.Kind.SINGLE)
    assert shown[single.pk] in single.options and invitation.unit_id
