"""Property-based tests of the case state machine (cases/machine.py) as the services apply it.

Hypothesis drives random sequences of actions by random actors with mostly plausible data and a clock that only
moves forward, one fresh 差评 case per example, and checks after every step:

- an action the state or the actor does not allow is refused (Conflict / PermissionDenied) and changes nothing;
  a refused action for bad data (ValidationFailed) changes nothing either — not the case, its history, its
  call-backs, appeals, evidence, notifications, the rating's adoption or the files on disk;
- an applied action appends exactly one CaseEvent whose from/to states are the move it made, and the history
  stays one unbroken chain of states ending in the case's state;
- the invariants of regime.md: closed ⇒ outcome and feedback; 不予采纳 ⇒ the rating kept, set aside; a rejected
  appeal ⇒ the rating counts again; every deadline on a working day; reopened at most once; one extension per
  round of handling; "closed" never means "fixed" unless the outcome says so.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from haochaping.accounts.models import Membership, Role
from haochaping.cases import access, machine, services, workdays
from haochaping.cases.machine import ACTIONS, REOPEN_TARGET
from haochaping.cases.models import (
    Appeal,
    CallbackAttempt,
    Case,
    CaseAttachment,
    CaseEvent,
    CloseReason,
    Notification,
    Outcome,
    State,
)
from haochaping.cases.services import Actor, case_act, case_rate_by_token
from haochaping.lib.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from haochaping.ratings.codes import Adoption
from haochaping.ratings.models import Rating
from tests.cases_helpers import evidence, open_bad_review

pytestmark = pytest.mark.django_db

USERS = ("a_dept_admin", "a_admin", "city_admin", "b_admin", "b_dept_admin", "a_auditor", "nobody")
ACTORS = ("handler", *USERS, "rater", "system")
DEADLINES = ("callback_due", "resolve_due", "rectify_deadline", "extended_deadline", "feedback_due", "due_on")
STEPS = [
    timedelta(0),
    timedelta(minutes=5),
    timedelta(hours=3),
    timedelta(days=1),
    timedelta(days=3),
    timedelta(days=9),
]
# The moves that take a case further (the driver prefers them, so that examples reach the later states).
FORWARD = {
    State.NEW: ["assign"],
    State.ASSIGNED: ["callback", "verify"],
    State.VERIFIED: ["fix_now", "open_ledger", "explain", "appeal"],
    State.RECTIFYING: ["complete", "extend", "progress"],
    State.APPEALING: ["approve_appeal", "reject_appeal"],
    State.FEEDBACK: ["rate_handling", "rate_handling", "close_no_response"],
    State.CLOSED: [],
}
TEXT = st.sampled_from(["窗口人员态度生硬", "已电话联系评价人，情况属实", "增开窗口", "依法须提交原件", "x" * 30])


# --- the world for the machine ------------------------------------------------------------------------


@pytest.fixture
def machine_world(world, settings, tmp_path, monkeypatch):
    """The world plus county B's handling logins (so a transferred case can go on), private media in tmp, and
    the rater's feedback links captured from the SMS text as it is built."""
    settings.MEDIA_ROOT = tmp_path
    User = get_user_model()
    for username, role in (("b_dept_admin", Role.DEPARTMENT_ADMIN), ("b_handler", Role.CASE_HANDLER)):
        user = User.objects.create_user(username=username, password="pw-" + username)
        Membership.objects.create(user=user, unit=world.b.dept, role=role)
        world.users[username] = user
    tokens: list[str] = []
    real = services.feedback_url

    def spy(token: str) -> str:
        tokens.append(token)
        return real(token)

    monkeypatch.setattr(services, "feedback_url", spy)
    world.tokens = tokens
    world.media = Path(tmp_path)
    return world


def snapshot(case_id: int, media: Path) -> dict:
    """Everything an action may write: compared before/after a refused action."""
    case = Case.objects.get(pk=case_id)
    return {
        "case": Case.objects.filter(pk=case_id).values().get(),
        "events": list(CaseEvent.objects.filter(case_id=case_id).values_list("id", flat=True)),
        "callbacks": CallbackAttempt.objects.filter(case_id=case_id).count(),
        "appeals": list(Appeal.objects.filter(case_id=case_id).values()),
        "attachments": CaseAttachment.objects.filter(case_id=case_id).count(),
        "notifications": Notification.objects.filter(case_id=case_id).count(),
        "adoption": Rating.objects.filter(pk=case.rating_id).values_list("adoption", flat=True).first(),
        "files": sorted(p.name for p in media.rglob("*") if p.is_file()),
    }


# --- choosing what to do ----------------------------------------------------------------------------------


def roles_of(world, who: str, case: Case) -> set[str]:
    if who == "rater":
        return {"rater"}
    if who == "system":
        return {"system"}
    user = case.handler if who == "handler" else world.users[who]
    return access.actor_roles(user, case) if user is not None else set()


def plausible_data(draw, world, case: Case, action: str, now, valid: bool) -> tuple[dict, list]:
    """Data for the action: valid most of the time, sometimes wrong in one field (which must then be refused)."""
    policy = services.policy_of(case)
    today = workdays._as_date(now)
    u = world.users
    text = draw(TEXT)
    files = [evidence()] if ACTIONS[action].evidence and (valid or draw(st.booleans())) else []
    if action in ("assign", "reassign"):
        eligible = [h for h in access.eligible_handlers(case) if h.pk != case.handler_id or not valid]
        pick = draw(st.sampled_from(eligible)).pk if eligible and valid else u["a_auditor"].pk
        return {"handler": pick, "reason": text}, files
    if action == "transfer":
        units = [world.a.dept, world.b.dept]
        unit = draw(st.sampled_from([x for x in units if x.pk != case.unit_id] if valid else units))
        return {"to_unit": unit.pk, "reason": text if valid else ""}, files
    if action == "callback":
        at = max(now - timedelta(minutes=draw(st.integers(0, 120))), case.opened_at)
        if not valid:
            at = now + timedelta(days=1)
        reached = draw(st.sampled_from([True, True, True, False]))
        channel = draw(st.sampled_from(["phone", "sms", "visit", "other"]))
        return {"at": at.isoformat(), "channel": channel, "reached": reached, "rater_said": text}, files
    if action == "open_ledger":
        if valid:
            deadline = workdays.add_workdays(now, draw(st.integers(0, policy.rectify_days)))
        else:
            deadline = draw(
                st.sampled_from(
                    [
                        workdays.add_workdays(now, policy.rectify_days + 1),
                        today - timedelta(days=1),
                        today + timedelta(days=(5 - today.weekday()) % 7 or 7),  # the next Saturday
                    ]
                )
            )
        return {"measures": text, "deadline": deadline.isoformat()}, files
    if action == "extend":
        base = case.rectify_deadline or today
        n = draw(st.integers(1, max(policy.extension_days, 1)))
        deadline = workdays.add_workdays(base, n) if valid else base
        return {"deadline": deadline.isoformat(), "reason": text}, files
    if action == "appeal":
        ground = draw(st.sampled_from(["mistaken", "malicious"])) if valid else "other"
        return {"ground": ground, "reason": text}, files
    if action == "rate_handling":
        grade = draw(st.sampled_from([1, 1, 2, 3])) if valid else 5
        return {"feedback_grade": grade, "comment": draw(st.sampled_from(["", "还是没解决", "满意"]))}, files
    field = {"verify": "facts", "fix_now": "measures", "complete": "measures", "explain": "explanation"}.get(action)
    blank = "" if not valid else text
    if field:
        return {field: blank}, files
    if action in ("pause",):
        return {"reason": blank}, files
    if action in ("progress", "note", "approve_appeal", "reject_appeal"):
        return {"note": blank}, files
    return {}, files  # close_no_response, resume, remind, escalate: nothing required


def apply(world, who: str, case: Case, action: str, data: dict, files: list, now) -> Case:
    if who == "rater":
        if action == "rate_handling" and world.tokens:
            return case_rate_by_token(world.tokens[-1], now=now, **data)
        return case_act(case_id=case.pk, action=action, actor=Actor.rater(), data=data, files=files, now=now)
    if who == "system":
        return case_act(case_id=case.pk, action=action, actor=Actor.system(), data=data, files=files, now=now)
    user = case.handler if who == "handler" else world.users[who]
    if user is None:  # no handler yet: someone without a role on the case tries
        user = world.users["nobody"]
    return case_act(case_id=case.pk, action=action, user=user, data=data, files=files, now=now)


# --- the invariants ---------------------------------------------------------------------------------------


def check_invariants(case: Case) -> None:
    case.refresh_from_db()
    rating = Rating.objects.filter(pk=case.rating_id).first()
    assert rating is not None, "a 差评 is never deleted"
    events = list(case.events.order_by("at", "id"))
    assert events[0].action == "open"
    for prev, ev in zip(events, events[1:], strict=False):
        assert ev.from_state == prev.to_state, f"history broken at {ev.action}: {prev.to_state} → {ev.from_state}"
    assert events[-1].to_state == case.state

    if case.state == State.CLOSED:
        assert case.outcome and case.notified_at and case.closed_at
        assert case.feedback_grade is not None or case.close_reason == CloseReason.NO_RESPONSE
        assert case.due_on is None and case.feedback_token_hash is None
    if case.state == State.FEEDBACK:
        assert case.outcome and case.notified_at and case.feedback_due
        assert case.notified_via == ("sms" if case.contact_phone_enc else "public")
    if case.state in (State.NEW, State.ASSIGNED, State.VERIFIED, State.RECTIFYING, State.APPEALING):
        assert case.closed_at is None and case.notified_at is None
    if case.state in (State.NEW, State.ASSIGNED, State.VERIFIED):
        assert case.outcome == ""
    if case.state == State.RECTIFYING:
        assert case.outcome == Outcome.LEDGER and case.rectify_deadline and case.due_on == case.deadline
    assert (case.handler_id is None) == (case.state == State.NEW)
    if case.paused_at:
        assert case.state in (State.NEW, State.ASSIGNED, State.VERIFIED, State.RECTIFYING)

    # The rating: set aside (never deleted) when not adopted; counted again after a rejected appeal.
    if case.outcome == Outcome.NOT_ADOPTED:
        assert rating.adoption == Adoption.NOT_ADOPTED
    if case.state == State.APPEALING:
        assert rating.adoption == Adoption.UNDER_REVIEW
        assert case.appeals.filter(decision="").count() == 1
    last_appeal = case.appeals.order_by("-applied_at", "-id").first()
    if last_appeal is not None and last_appeal.decision == Appeal.Decision.REJECTED:
        assert rating.adoption == Adoption.ADOPTED
    if last_appeal is None:
        assert rating.adoption == Adoption.ADOPTED

    for name in DEADLINES:
        value = getattr(case, name)
        assert value is None or workdays.is_workday(value), f"{name} {value} is not a working day"

    assert case.reopen_count <= 1
    assert case.reopen_count == sum(1 for e in events if e.data.get("reopened"))
    since_reopen = events[max((i for i, e in enumerate(events) if e.data.get("reopened")), default=0) :]
    assert sum(1 for e in since_reopen if e.action == "extend") <= 1, "extended twice"
    if case.extended_deadline:
        assert case.extended_deadline > case.rectify_deadline

    # Closed is not fixed: only 立行立改, or a ledger entry completed, is a fix.
    if case.is_fixed:
        assert case.outcome == Outcome.FIXED_NOW or (case.outcome == Outcome.LEDGER and case.rectified_at)
    if case.outcome in (Outcome.EXPLAINED, Outcome.NOT_ADOPTED, ""):
        assert not case.is_fixed


# --- the driver -------------------------------------------------------------------------------------------


@settings(
    # 40 examples keep the file under a minute on SQLite; HCP_MACHINE_EXAMPLES=1000 for a longer hunt.
    max_examples=int(os.environ.get("HCP_MACHINE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_action_sequences_keep_the_invariants(machine_world, data):
    world = machine_world
    draw = data.draw
    phone = draw(st.one_of(st.none(), st.from_regex(r"\A1[3-9]\d{9}\Z")), label="phone")
    case = open_bad_review(world, phone=phone)
    world.tokens.clear()
    now = case.opened_at + timedelta(minutes=1)
    check_invariants(case)
    for _ in range(draw(st.integers(1, 30), label="steps")):
        now += draw(st.sampled_from(STEPS), label="wait")
        case.refresh_from_db()
        mode = draw(st.integers(0, 9), label="mode")  # 0: anything; 1-3: any allowed move; 4-9: forward
        allowed = [a.code for a in machine.allowed_from(case.state)]
        if case.state == State.ASSIGNED and case.called_back_at:
            forward = ["verify"]
        elif case.paused_at and case.state != State.NEW:
            forward = ["resume"]
        else:
            forward = FORWARD[case.state]
        if mode and allowed:
            action = draw(st.sampled_from(forward if mode > 3 and forward else allowed), label="action")
            able = [w for w in ACTORS if roles_of(world, w, case) & ACTIONS[action].actors]
            who = draw(st.sampled_from(able or list(ACTORS)), label="actor")
        else:
            action = draw(st.sampled_from(sorted(ACTIONS)), label="action")
            who = draw(st.sampled_from(ACTORS), label="actor")
        valid = draw(st.integers(0, 5), label="valid") > 0
        payload, files = plausible_data(draw, world, case, action, now, valid)
        spec = ACTIONS[action]
        state_ok = case.state in spec.sources
        roles = roles_of(world, who, case)
        before = snapshot(case.pk, world.media)
        try:
            after_case = apply(world, who, case, action, payload, files, now)
        except (Conflict, PermissionDenied, ValidationFailed, NotFound) as exc:
            assert snapshot(case.pk, world.media) == before, f"refused {action} by {who} changed something: {exc}"
            if not state_ok:
                assert isinstance(exc, Conflict | NotFound), (action, who, exc)
            elif not roles & spec.actors:
                assert isinstance(exc, PermissionDenied | NotFound), (action, who, exc)
        else:
            assert state_ok and roles & spec.actors, f"{action} by {who} allowed from {before['case']['state']}"
            new_events = CaseEvent.objects.filter(case_id=case.pk).exclude(id__in=before["events"])
            [row] = new_events
            assert row.action == action and row.at == now
            assert row.from_state == before["case"]["state"] and row.to_state == after_case.state
            event(f"applied: {action}")
            if action == "rate_handling" and row.data.get("reopened"):
                assert after_case.state == REOPEN_TARGET
            elif spec.target is not None:
                assert after_case.state == spec.target
            else:
                assert after_case.state == before["case"]["state"]
        check_invariants(case)
    # Shown by --hypothesis-show-statistics: how far the examples got.
    event(f"final state: {case.state}")
    event(f"reopened: {case.reopen_count}")


# --- the table itself -------------------------------------------------------------------------------------


def test_the_transition_table_is_complete():
    assert set(services._APPLY) == set(ACTIONS)
    known_actors = {"handler", "unit_admin", "agency", "rater", "system"}
    for code, a in ACTIONS.items():
        assert a.code == code and a.actors and a.actors <= known_actors, code
        assert a.sources <= set(State.values) and (a.target is None or a.target in State.values), code
        assert State.CLOSED not in a.sources, f"{code} leaves a closed case"
    # Every state but closed has a way out; closed has none (a closed case is final).
    for state in State.values:
        exits = {a.target for a in machine.allowed_from(state) if a.target not in (None, state)}
        if state == State.FEEDBACK:
            exits.add(REOPEN_TARGET)
        if state == State.CLOSED:
            assert not machine.allowed_from(state)
        else:
            assert exits, f"{state} has no way out"
    # Every state is reachable from new, and closed from every state.
    edges = {(s, a.target) for a in ACTIONS.values() for s in a.sources if a.target} | {(State.FEEDBACK, REOPEN_TARGET)}
    reach = {State.NEW}
    while True:
        more = {t for s, t in edges if s in reach} - reach
        if not more:
            break
        reach |= more
    assert reach == set(State.values)
    for state in State.values:
        seen = {state}
        while True:
            more = {t for s, t in edges if s in seen} - seen
            if not more:
                break
            seen |= more
        assert State.CLOSED in seen, f"{state} can never be closed"
    assert set(machine.PAGE_ACTIONS) == {c for c, a in ACTIONS.items() if a.actors - {"system", "rater"}}


# --- every required field of the table is enforced, naming the field -------------------------------------


def drive_to(world, state: str, *, phone: str | None = "13800138000") -> Case:
    """A fresh case brought to ``state`` by the usual moves (handled by a_handler)."""
    u = world.users
    case = open_bad_review(world, phone=phone)
    if state == State.NEW:
        return case
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    now = case.opened_at + timedelta(minutes=5)
    callback = {"at": now.isoformat(), "channel": "phone", "reached": True, "rater_said": "态度差"}
    case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=callback, now=now)
    if state == State.ASSIGNED:
        return Case.objects.get(pk=case.pk)
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "属实"}, now=now)
    if state == State.RECTIFYING:
        deadline = workdays.add_workdays(now, 2).isoformat()
        data = {"measures": "增开窗口", "deadline": deadline}
        case_act(case_id=case.pk, action="open_ledger", user=u["a_handler"], data=data, now=now)
    elif state == State.APPEALING:
        data = {"ground": "mistaken", "reason": "误触"}
        case_act(case_id=case.pk, action="appeal", user=u["a_handler"], data=data, files=[evidence()], now=now)
    elif state == State.FEEDBACK:
        case_act(case_id=case.pk, action="explain", user=u["a_handler"], data={"explanation": "须原件"}, now=now)
    return Case.objects.get(pk=case.pk)


def valid_data(world, case: Case, action: str) -> dict:
    u, now = world.users, case.opened_at + timedelta(minutes=10)
    base = (case.rectify_deadline or workdays.today()) if action == "extend" else now
    return {
        "handler": u["a_dept_admin"].pk if action == "reassign" else u["a_handler"].pk,
        "reason": "理由",
        "to_unit": world.b.dept.pk,
        "at": now.isoformat(),
        "channel": "phone",
        "reached": False,
        "facts": "属实",
        "measures": "增开窗口",
        "deadline": workdays.add_workdays(base, 1).isoformat(),
        "note": "说明",
        "explanation": "须原件",
        "ground": "mistaken",
        "feedback_grade": 3,
    }


ACTOR_FOR = {"handler": "a_handler", "unit_admin": "a_dept_admin", "agency": "a_admin"}
SOURCE_FOR = {
    "transfer": State.ASSIGNED,
    "reassign": State.ASSIGNED,
    "callback": State.ASSIGNED,
    "pause": State.ASSIGNED,
    "note": State.ASSIGNED,
}
REQUIRED = [(code, name) for code, a in ACTIONS.items() for name in a.required]


@pytest.mark.parametrize(
    "action, name",
    REQUIRED,
)
def test_every_required_field_is_enforced_and_named(machine_world, action, name):
    spec = ACTIONS[action]
    source = SOURCE_FOR.get(action) or sorted(spec.sources)[0]
    case = drive_to(machine_world, source)
    who = ACTOR_FOR[sorted(spec.actors - {"rater", "system"})[0]]
    data = valid_data(machine_world, case, action)
    data.pop(name)
    files = [evidence()] if spec.evidence else []
    before = snapshot(case.pk, machine_world.media)
    with pytest.raises(ValidationFailed) as exc:
        case_act(
            case_id=case.pk,
            action=action,
            user=machine_world.users[who],
            data=data,
            files=files,
            now=case.opened_at + timedelta(minutes=10),
        )
    assert exc.value.field == name
    assert snapshot(case.pk, machine_world.media) == before
    # …and with the field the same action goes through (the table's required list is complete).
    data[name] = valid_data(machine_world, case, action)[name]
    case_act(
        case_id=case.pk,
        action=action,
        user=machine_world.users[who],
        data=data,
        files=[evidence()] if spec.evidence else [],
        now=case.opened_at + timedelta(minutes=10),
    )


@pytest.mark.parametrize("action", [code for code, a in ACTIONS.items() if a.evidence])
def test_evidence_actions_need_a_file(machine_world, action):
    spec = ACTIONS[action]
    case = drive_to(machine_world, sorted(spec.sources)[0])
    data = valid_data(machine_world, case, action)
    with pytest.raises(ValidationFailed) as exc:
        case_act(case_id=case.pk, action=action, user=machine_world.users["a_handler"], data=data)
    assert exc.value.field == "files"


# --- properties found by the driver and fixed in the services ------------------------------------------------


def test_a_reopened_not_adopted_case_counts_its_rating_again(machine_world):
    u = machine_world.users
    case = drive_to(machine_world, State.APPEALING)
    now = case.opened_at + timedelta(hours=1)
    case_act(case_id=case.pk, action="approve_appeal", user=u["a_admin"], data={"note": "同意"}, now=now)
    case = case_rate_by_token(machine_world.tokens[-1], feedback_grade=1, comment="不是误评", now=now)
    assert case.state == State.ASSIGNED and case.outcome == ""
    check_invariants(case)
    case.rating.refresh_from_db()
    # The outcome that set the rating aside is gone; the rating must count again until a new decision.
    assert case.rating.adoption == Adoption.ADOPTED


def test_close_no_response_waits_for_the_feedback_period(machine_world):
    case = drive_to(machine_world, State.FEEDBACK)
    with pytest.raises(Conflict):
        case_act(case_id=case.pk, action="close_no_response", actor=Actor.system(), now=case.notified_at)
