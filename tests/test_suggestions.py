"""意见箱: suggestion_open (routing, anonymous vs contact, validation), the public page /suggestions/, the case loop
on a suggestion, and what a suggestion is not (a complaint in the figures, a publication, a 差评)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE, scope_for_user
from haochaping.cases import lookup
from haochaping.cases.models import Case, CaseDayDirty, CaseEvent, Kind, NotifiedVia, Outcome, State
from haochaping.cases.opening import SuggestionIn, suggestion_open
from haochaping.cases.services import case_act
from haochaping.lib import protect
from haochaping.lib.errors import DomainError, NotFound, ValidationFailed

URL = "/suggestions/"


def open_one(world, **fields) -> Case:
    data = {"content": "建议大厅增设母婴室和充电宝", **fields}
    return suggestion_open(SuggestionIn(**data), scope=ALL_SCOPE)


# --- suggestion_open ---------------------------------------------------------------------------------------


def test_anonymous_suggestion_to_a_unit(world):
    case = open_one(world, unit_id=world.a.dept.pk, topic="facilities")
    assert (case.kind, case.state, case.unit, case.region) == (Kind.SUGGESTION, State.NEW, world.a.dept, world.a.region)
    assert case.number.startswith("JY") and case.rating_id is None and case.grade is None
    assert not case.real_name and case.contact_phone_enc == "" and case.contact_phone_hash == ""
    assert case.summary == "【环境设施】建议大厅增设母婴室和充电宝"
    event = CaseEvent.objects.get(case=case)
    assert (event.action, event.to_state, event.note) == ("open", State.NEW, "意见建议受理")
    assert event.data == {"unit": world.a.dept.pk, "channel": "pc", "topic": "facilities", "anonymous": True}
    assert case.callback_due and case.resolve_due and case.due_on == case.callback_due
    assert CaseDayDirty.objects.filter(unit_id=world.a.dept.pk).exists()  # rollup marked in the same transaction


def test_suggestion_with_contact_is_real_name(world):
    case = open_one(world, unit_id=world.a.dept.pk, contact_phone="+86 138-0013-8000", contact_name=" 李四 ")
    assert case.real_name
    assert protect.decrypt(case.contact_phone_enc) == "13800138000" and case.contact_name == "李四"
    assert case.contact_phone_hash == protect.lookup_hash("13800138000")
    assert case.summary == "建议大厅增设母婴室和充电宝"  # no topic, no prefix


def test_routing_by_window_item_hall_and_region(world, django_capture_on_commit_callbacks):
    by_window = open_one(world, window_id=world.a.window.pk)
    assert (by_window.unit, by_window.hall, by_window.window) == (world.a.dept, world.a.hall, world.a.window)
    by_item = open_one(world, item_code=world.b.item.implementation_code)
    assert (by_item.unit, by_item.service_item) == (world.b.dept, world.b.item)
    by_hall = open_one(world, hall_id=world.b.hall.pk)
    assert (by_hall.unit, by_hall.hall, by_hall.region) == (world.b.agency, world.b.hall, world.b.region)
    hall_and_unit = open_one(world, hall_id=world.a.hall.pk, unit_id=world.a.dept.pk)
    assert (hall_and_unit.unit, hall_and_unit.hall) == (world.a.dept, world.a.hall)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        by_region = open_one(world, region_id=world.a.region.pk)
    assert by_region.unit == world.a.agency  # the region's management agency receives it
    assert len(callbacks) == 1  # and the routing suggestion runs after commit
    by_uscc = open_one(world, unit_uscc=world.b.dept.uscc)
    assert by_uscc.unit == world.b.dept


def test_routing_respects_the_scope(world):
    scope_a = scope_for_user(world.users["a_admin"])
    with pytest.raises(NotFound) as exc:
        suggestion_open(SuggestionIn(content="建议", unit_id=world.b.dept.pk), scope=scope_a)
    assert exc.value.field == "unit_id" and "意见涉及单位不存在" in exc.value.message
    with pytest.raises(NotFound) as exc:
        suggestion_open(SuggestionIn(content="建议", hall_id=world.b.hall.pk), scope=scope_a)
    assert exc.value.field == "hall_id"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"content": "  "}, "content", "请填写意见建议内容"),
        ({"content": "长" * 2001}, "content", "不能超过2000字"),
        ({"topic": "nonsense"}, "topic", "意见类别无效"),
        ({"contact_phone": "12345"}, "contact_phone", "手机号码应为11位"),
        ({"contact_phone": "23800138000"}, "contact_phone", "手机号码应为11位"),
        ({"unit_id": None}, "region_id", "请选择所在地区"),
        ({"channel": "default"}, "channel", "来源渠道无效"),
        ({"item_code": "NO-SUCH"}, "item_code", "事项不存在"),
    ],
)
def test_validation_errors_name_the_field(world, fields, field, message):
    data = {"unit_id": world.a.dept.pk, **fields}
    with pytest.raises(DomainError) as exc:
        open_one(world, **data)
    assert exc.value.field == field and message in exc.value.message
    assert not Case.objects.exists()


def test_exactly_2000_characters_is_accepted(world):
    assert open_one(world, unit_id=world.a.dept.pk, content="字" * 2000).summary == "字" * 2000


# --- the case loop ---------------------------------------------------------------------------------------------


def _assign_and_verify(world, case: Case) -> Case:
    u = world.users
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    return case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "已核实：大厅无母婴室"})


def test_anonymous_suggestion_loop_to_closed_with_public_notice(world):
    case = open_one(world, unit_id=world.a.dept.pk)
    case = _assign_and_verify(world, case)  # anonymous: no call-back is needed before verifying
    assert case.state == State.VERIFIED
    case = case_act(
        case_id=case.pk, action="explain", user=world.users["a_handler"], data={"explanation": "已列入明年改造计划"}
    )
    assert (case.state, case.outcome, case.notified_via) == (State.FEEDBACK, Outcome.EXPLAINED, NotifiedVia.PUBLIC)
    assert case.feedback_token_hash is None
    # The suggester follows it on the public tracking page with the number and code, and rates the answer there.
    client = Client()
    code = lookup.lookup_code(case.pk)
    page = client.get("/open/track/", {"n": case.number, "c": code})
    assert page.status_code == 200 and "已列入明年改造计划" in page.content.decode()
    rated = client.post("/open/track/", {"n": case.number, "c": code, "feedback_grade": "3", "comment": ""})
    assert rated.status_code == 200
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.feedback_grade == 3


def test_anonymous_suggestion_closes_when_the_feedback_period_ends(world):
    from datetime import timedelta

    case = _assign_and_verify(world, open_one(world, unit_id=world.a.dept.pk))
    case = case_act(case_id=case.pk, action="explain", user=world.users["a_handler"], data={"explanation": "感谢"})
    later = timezone.now() + timedelta(days=40)
    from haochaping.cases.services import Actor

    closed = case_act(case_id=case.pk, action="close_no_response", actor=Actor.system(), now=later)
    assert closed.state == State.CLOSED and closed.close_reason == "no_response"


def test_suggestion_with_phone_is_called_back_and_told_by_sms(world, django_capture_on_commit_callbacks):
    from haochaping.messaging.models import SmsMessage
    from tests.cases_helpers import evidence

    u = world.users
    case = open_one(world, unit_id=world.a.dept.pk, contact_phone="13800138000")
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    with pytest.raises(ValidationFailed):  # real-name: called back first, like a complaint
        case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "x"})
    data = {"at": timezone.now(), "channel": "phone", "reached": True, "rater_said": "希望尽快解决"}
    case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=data)
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "属实"})
    with django_capture_on_commit_callbacks(execute=True):
        case = case_act(
            case_id=case.pk, action="fix_now", user=u["a_handler"], data={"measures": "已增设"}, files=[evidence()]
        )
    assert (case.state, case.notified_via) == (State.FEEDBACK, NotifiedVia.SMS)
    sms = SmsMessage.objects.get(kind=SmsMessage.Kind.CASE_FEEDBACK)
    assert case.number in sms.text and case.number.startswith("JY")
    case = case_act(case_id=case.pk, action="rate_handling", user=u["a_handler"], data={"feedback_grade": 2})
    assert case.state == State.CLOSED


# --- not a complaint, not published, indexed ------------------------------------------------------------------


def test_suggestions_are_not_counted_as_complaints(world):
    from haochaping.analytics import performance

    open_one(world, unit_id=world.a.dept.pk)
    open_one(world, unit_id=world.a.dept.pk, contact_phone="13800138000")
    from haochaping.cases.opening import ComplaintIn, complaint_open

    complaint_open(ComplaintIn(content="推诿", contact_phone="13900139000", unit_id=world.a.dept.pk), scope=ALL_SCOPE)
    period = performance.Period.month(timezone.localdate())
    by_unit, _by_staff = performance._complaints(ALL_SCOPE, period)
    assert by_unit == {world.a.dept.pk: 1}


def test_case_figures_count_suggestions_as_cases(world):
    from haochaping.cases import metrics, rollup

    case = _assign_and_verify(world, open_one(world, unit_id=world.a.dept.pk))
    case_act(case_id=case.pk, action="explain", user=world.users["a_handler"], data={"explanation": "已采纳"})
    today = timezone.localdate()
    figures = metrics.case_metrics(metrics.cases_in(ALL_SCOPE, metrics.Period(today, today)))
    counted = (figures["opened"], figures["explained"], figures["adopted_bad"], figures["callback_possible"])
    assert counted == (1, 1, 0, 0)
    assert rollup.verify() == []  # the rollups kept up with the suggestion's opening and actions
    rolled = rollup.figures(today, today)
    assert (rolled["opened"], rolled["explained"]) == (1, 1)


def test_suggestion_counts_selector(world):
    from haochaping.society.selectors import suggestion_counts

    first = _assign_and_verify(world, open_one(world, unit_id=world.a.dept.pk))
    case_act(case_id=first.pk, action="explain", user=world.users["a_handler"], data={"explanation": "谢谢"})
    case_act(case_id=first.pk, action="rate_handling", user=world.users["a_handler"], data={"feedback_grade": 3})
    open_one(world, unit_id=world.a.dept.pk)
    open_one(world, unit_id=world.b.dept.pk)
    today = timezone.localdate()
    assert suggestion_counts(ALL_SCOPE, today, today) == {
        world.a.dept.pk: {"opened": 2, "closed": 1},
        world.b.dept.pk: {"opened": 1, "closed": 0},
    }
    scope_a = scope_for_user(world.users["a_admin"])
    assert set(suggestion_counts(scope_a, today, today)) == {world.a.dept.pk}


def test_suggestions_are_not_published(world):
    from haochaping.disclosure import publication

    case = _assign_and_verify(world, open_one(world, unit_id=world.a.dept.pk))
    case = case_act(case_id=case.pk, action="explain", user=world.users["a_handler"], data={"explanation": "已采纳"})
    assert not publication.eligible(Case.objects.select_related("rating").get(pk=case.pk))
    counts = publication.sync()
    from haochaping.disclosure.models import Publication

    assert counts["created"] == 0 and not Publication.objects.exists()


def test_suggestion_texts_are_indexed_without_the_topic(world):
    from haochaping.insight import index
    from haochaping.insight.models import CommentDoc, Source

    case = open_one(world, unit_id=world.a.dept.pk, topic="process", content="建议网上预约流程再简化一些")
    index.index_new()
    doc = CommentDoc.objects.get(source=Source.COMPLAINT, source_id=case.pk)
    assert "流程" in doc.text and "办事流程" not in doc.text and "【" not in doc.text


def test_ticket_api_finds_a_suggestion_by_its_number(world):
    from tests.conftest import api_client

    case = open_one(world, unit_id=world.a.dept.pk)
    r = api_client(world.key_a).get(f"/api/v1/tickets/{case.number}")
    assert r.status_code == 200 and r.json()["kind"] == "suggestion"
    listed = api_client(world.key_a).get("/api/v1/tickets", {"kind": "suggestion"}).json()
    assert case.number in str(listed)
    assert api_client(world.key_b).get(f"/api/v1/tickets/{case.number}").status_code == 404


def test_exchange_sends_and_accepts_the_suggestion_kind(world):
    import uuid

    from haochaping.exchange import payload, services
    from haochaping.exchange.models import CaseOutcome
    from tests.conftest import api_client, post_json

    case = open_one(world, unit_id=world.a.dept.pk)
    record = payload.case_record(Case.objects.select_related("region", "unit", "rating").get(pk=case.pk))
    assert record["kind"] == "suggestion" and record["caseNo"].startswith("JY") and record["ratingId"] is None
    # A subordinate (上城区's own installation) pushes the same record here: stored as a suggestion's outcome.
    _sub, secret = services.subordinate_register(code="sc-county", name="上城区好差评平台", region=world.a.region)
    body = {"schema": 1, "batchId": str(uuid.uuid4()), "platform": "x", "records": [{**record, "origin": "sc-county"}]}
    answer = post_json(api_client(secret), "/api/v1/exchange/batches", body).json()
    assert answer["results"][0]["status"] == "accepted", answer
    assert CaseOutcome.objects.get().kind == "suggestion"
    body["records"][0]["kind"] = "praise"
    body["batchId"] = str(uuid.uuid4())
    refused = post_json(api_client(secret), "/api/v1/exchange/batches", body).json()["results"][0]
    assert refused["errors"][0]["field"] == "kind" and "suggestion" in refused["errors"][0]["message"]


# --- the public page -----------------------------------------------------------------------------------------


def post(client: Client, **fields):
    data = {"region_id": "", "unit_id": "", "hall_id": "", "topic": "", "content": "建议增加自助填表机",
            "contact_name": "", "contact_phone": ""}  # fmt: skip
    data.update({k: str(v) for k, v in fields.items()})
    return client.post(URL, data)


def test_page_offers_regions_units_and_halls_with_their_paths(world):
    r = Client().get(URL)
    assert r.status_code == 200
    page = r.content.decode()
    assert world.a.dept.name in page and world.a.hall.name in page and "上城区" in page
    assert f'data-path="{world.a.region.path}"' in page
    assert "society/suggestion.js" in page and 'name="website"' in page  # the script and the honeypot
    assert "服务态度" in page and "意见箱" in page


def test_anonymous_post_opens_a_case_and_shows_the_number_and_code_once(world):
    client = Client()
    r = post(client, region_id=world.a.region.pk, topic="attitude")
    assert r.status_code == 302
    case = Case.objects.get()
    assert (case.kind, case.unit, case.real_name) == (Kind.SUGGESTION, world.a.agency, False)
    done = client.get(r["Location"])
    page = done.content.decode()
    assert case.number in page and lookup.lookup_code(case.pk) in page and "匿名" in page
    assert "/open/track/?n=" in page
    again = client.get(r["Location"])
    assert case.number not in again.content.decode()


def test_post_with_contact_tells_about_sms(world):
    client = Client()
    r = post(client, unit_id=world.a.dept.pk, contact_phone="13800138000", contact_name="王五")
    assert r.status_code == 302
    assert Case.objects.get().real_name
    assert "答复将以短信告知" in client.get(r["Location"]).content.decode()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "region_id", "请选择所在地区"),
        ({"content": "", "region_id": "R"}, "content", "请填写意见建议内容"),
        ({"contact_phone": "123", "region_id": "R"}, "contact_phone", "手机号码应为11位"),
    ],
)
def test_page_field_errors(world, fields, field, message):
    fields = {k: (world.a.region.pk if v == "R" else v) for k, v in fields.items()}
    r = post(Client(), **fields)
    assert r.status_code == 422
    assert message in " ".join(r.context["form"].errors[field])
    assert f'id="id_{field}_errors"' in r.content.decode()
    assert not Case.objects.exists()


def test_honeypot_refuses_quietly(world):
    r = post(Client(), region_id=world.a.region.pk, website="http://spam.example")
    assert r.status_code == 400 and not Case.objects.exists()


def test_rate_limits(world, settings):
    settings.HAOCHAPING_SUGGESTIONS_PER_HOUR = 2
    client = Client(REMOTE_ADDR="203.0.113.20")
    for _ in range(2):
        assert post(client, region_id=world.a.region.pk).status_code == 302
    r = post(client, region_id=world.a.region.pk)
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert Case.objects.count() == 2
    settings.HAOCHAPING_SUGGESTION_POSTS_PER_HOUR = 1
    other = Client(REMOTE_ADDR="203.0.113.21")
    assert post(other).status_code == 422
    assert post(other).status_code == 429


def test_public_links(world):
    assert "/suggestions/" in Client().get("/cases/complaint/").content.decode()
    assert "/suggestions/" in Client().get("/open/").content.decode()


def test_staff_queue_filters_and_shows_suggestions(world):
    case = open_one(world, unit_id=world.a.dept.pk, topic="online", content="建议网站支持夜间办理")
    client = Client()
    client.force_login(world.users["a_dept_admin"])
    page = client.get("/cases/", {"kind": "suggestion"}).content.decode()
    assert case.number in page and "意见建议" in page and "【线上服务】建议网站支持夜间办理" in page
    assert case.number not in client.get("/cases/", {"kind": "complaint"}).content.decode()
    detail = client.get(f"/cases/{case.pk}/").content.decode()
    assert "意见建议内容" in detail and "匿名，无联系方式" in detail
