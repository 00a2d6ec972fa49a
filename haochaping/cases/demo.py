"""Demo hook: cases for the demo's 差评, with histories that look like a year of real handling.

The demo generator writes ratings directly (not through intake), so its 差评 have no cases yet: they are
opened here (``open_missing``) and then played forward. Every case follows a plan of machine actions
(assign → call-back → verify → outcome → feedback → rating or no-response close), applied by the services'
own action functions, so every field, event, call-back, appeal and notification is what ``case_act`` writes:

- the most recent cases (and a few chosen ones) go through ``case_act`` itself, one transaction per action,
  and are left in every state — new, assigned, verified, in the ledger, under appeal, awaiting feedback;
- the older ones (thousands) are replayed in memory with the same action functions and written in bulk —
  case_act per action would take minutes on the default demo; their notifications are marked read and
  their SMS are not sent (they belong to the past).

Then one supervision sweep runs, so reminders, escalations and no-response closes exist as they would.
Deterministic for a seed (random.Random) given the same day.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
import secrets
import struct
import time
import zlib
from collections import Counter
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from haochaping.accounts.models import Membership, Role
from haochaping.accounts.roles import sync_role_groups
from haochaping.cases import opening, services, workdays
from haochaping.cases.machine import ACTIONS
from haochaping.cases.models import (
    Appeal,
    Case,
    CaseAttachment,
    CaseEvent,
    FeedbackGrade,
    Kind,
    Notification,
    Outcome,
    State,
)
from haochaping.cases.services import Actor, case_act, policy_of, refresh_due
from haochaping.cases.sweep import SUPERVISED, sweep
from haochaping.directory.models import Organisation
from haochaping.lib.errors import DomainError

logger = logging.getLogger(__name__)

SHOWCASE = 250  # the most recent cases played through case_act and left in every state
SHOWCASE_DAYS = 30
HANDLER_UNIT_DAYS = 60  # the `handler` login's unit: its cases this recent are all showcased


def _png() -> bytes:
    """A valid 1×1 grey PNG (the machine requires evidence for 立行立改 and 整改完成)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")
    )


PNG = _png()

FACTS = [
    "经调取窗口监控并询问当班人员，当日上午办件高峰，等候时间约50分钟，情况属实。",
    "经核实，工作人员一次性告知不到位，导致申请人往返两次，情况属实。",
    "经核实，系统故障导致业务暂停约1小时，现场解释不充分。",
    "经核查录音录像，工作人员答复语气生硬，存在服务态度问题。",
    "经核实，申请材料确不齐全，窗口按规定不予受理，但解释不够清楚。",
    "经核实，网上办事系统上传附件失败，已由技术人员排查。",
]
MEASURES = [
    "已对当班人员进行批评教育，高峰时段增开2个综合窗口，推行预约分时段办理。",
    "已向申请人当面致歉，并安排专人全程代办，当日办结。",
    "完善一次性告知清单并在大厅公示，组织窗口人员业务培训。",
    "协调技术支持修复系统故障，增设自助终端操作引导员。",
    "修订办事指南，精简申请材料2项，已在网上公布。",
]
EXPLANATIONS = [
    "该事项须按法定程序公示15日，办理时限符合规定，已向申请人说明。",
    "申请人所需材料属法定要件，无法减免，已电话解释并告知补正方式。",
    "该业务须由不动产所在地登记机构办理，已告知办理地点和预约方式。",
]
SAID = [
    "等了很久没人管，希望改进。",
    "材料跑了好几趟才办成。",
    "工作人员态度不好，说话不耐烦。",
    "网上提交一直失败，只能到现场。",
]
COMMENTS = ["处理及时，满意。", "问题已解决，谢谢。", "态度改进了，但等候时间还是长。", ""]


@dataclass
class Step:
    action: str
    at: datetime
    actor: str  # "assigner" | "handler" | "agency" | "rater" | "system"
    data: dict[str, Any] = field(default_factory=dict)
    evidence: bool = False
    level: int = 0  # escalate: the level the sweep raised the case to


class _Clock:
    """Step times: after the previous step, on working days in office hours, never after `now`."""

    def __init__(self, start: datetime, rng: random.Random) -> None:
        self.t = start
        self.rng = rng

    def minutes(self, lo: float, hi: float) -> datetime:
        self.t += timedelta(minutes=self.rng.uniform(lo, hi))
        return self.t

    def day(self) -> date:
        return timezone.localtime(self.t).date()

    def workday(self, n: int, lo: int = 9, hi: int = 17) -> datetime:
        day = workdays.add_workdays(self.t, n)
        return self.on(day, lo, hi)

    def on(self, day: date, lo: int = 9, hi: int = 17) -> datetime:
        minute = self.rng.randrange(lo * 60, hi * 60)
        t = timezone.make_aware(datetime(day.year, day.month, day.day, minute // 60, minute % 60))
        self.t = max(t, self.t + timedelta(minutes=1))
        return self.t


# --- the plan of one case ----------------------------------------------------------------------------


def _plan(case: Case, rng: random.Random, now: datetime, *, stop: str, special: str = "") -> list[Step]:
    """The actions of one case up to ``stop`` (a state to leave it in, or "closed")."""
    policy = policy_of(case)
    today = timezone.localdate(now)
    clock = _Clock(case.opened_at, rng)
    steps: list[Step] = []
    if stop == "new":
        return steps
    steps.append(Step("assign", clock.minutes(5, 120), "assigner"))
    overdue_callback = special == "assigned_overdue"
    if case.real_name and not overdue_callback:
        if rng.random() < 0.2:
            at = clock.minutes(30, 240)
            steps.append(Step("callback", at, "handler", {"at": at.isoformat(), "channel": "phone", "reached": "0"}))
        at = clock.workday(rng.choice([0, 0, 1])) if rng.random() < 0.6 else clock.minutes(20, 300)
        said = rng.choice(SAID)
        data = {"at": at.isoformat(), "channel": "phone", "reached": "1", "rater_said": said}
        steps.append(Step("callback", at, "handler", data))
    if stop == "assigned":
        return steps
    steps.append(Step("verify", clock.minutes(60, 600), "handler", {"facts": rng.choice(FACTS)}))
    if stop == "verified":
        return steps
    if special == "recent":  # handled lately (the link the demo prints must still be open)
        clock.t = max(clock.t, now - timedelta(hours=rng.uniform(20, 30)))
        if stop == "feedback":
            stop = rng.choice(["fixed_now", "explained"])
    outcome = {
        "fixed_now": "fixed_now",
        "explained": "explained",
        "rectifying": "ledger",
        "rectifying_near": "ledger",
        "appealing": "appeal",
    }.get(stop) or rng.choices(["fixed_now", "explained", "ledger", "appeal"], [47, 31, 16, 3])[0]
    if outcome == "appeal" and not case._demo_agency:  # type: ignore[attr-defined]
        outcome = "explained"  # nobody may decide an appeal for this region: the handler explains instead
    if outcome == "fixed_now":
        steps.append(Step("fix_now", clock.minutes(30, 900), "handler", {"measures": rng.choice(MEASURES)}, True))
    elif outcome == "explained":
        steps.append(Step("explain", clock.minutes(30, 900), "handler", {"explanation": rng.choice(EXPLANATIONS)}))
    elif outcome == "appeal":
        ground = rng.choice(["mistaken", "malicious"])
        reason = (
            "评价人系误操作，回访时本人确认对服务满意" if ground == "mistaken" else "评价人因不符合办理条件多次恶意差评"
        )
        steps.append(Step("appeal", clock.minutes(30, 900), "handler", {"ground": ground, "reason": reason}, True))
        if stop == "appealing":
            return steps
        note = "经复核，申诉理由成立，该差评不予采纳。"
        steps.append(Step("approve_appeal", clock.workday(rng.randint(1, 3)), "agency", {"note": note}))
    else:
        if special == "rectifying_near":  # opened in the ledger lately, due the next working day
            clock.t = max(clock.t, now - timedelta(hours=rng.uniform(20, 30)))
            at = clock.minutes(1, 30)
            deadline = workdays.add_workdays(today, 1)
            deadline = min(deadline, workdays.add_workdays(at, policy.rectify_days))
        else:
            at = clock.minutes(30, 900)
            latest = workdays.add_workdays(at, policy.rectify_days)
            if stop == "rectifying":  # still open: as late a deadline as allowed
                deadline = latest
            else:
                deadline = workdays.add_workdays(at, rng.randint(1, policy.rectify_days))
        deadline = max(deadline, workdays.add_workdays(timezone.localtime(at).date(), 0))
        data = {"measures": rng.choice(MEASURES), "deadline": deadline.isoformat()}
        steps.append(Step("open_ledger", at, "handler", data))
        if special != "rectifying_near" and rng.random() < 0.5:
            steps.append(Step("progress", clock.workday(1), "handler", {"note": "整改推进中：已完成人员培训。"}))
        if (stop == "rectifying" and deadline < today) or (stop != "rectifying" and rng.random() < 0.2):
            if clock.day() < deadline and policy.extension_days:
                new = workdays.add_workdays(deadline, rng.randint(1, policy.extension_days))
                reason = "涉及系统改造，需协调技术供应商，申请延期。"
                steps.append(
                    Step("extend", clock.minutes(60, 600), "handler", {"deadline": new.isoformat(), "reason": reason})
                )
                deadline = new
        if stop in ("rectifying", "rectifying_near"):
            return steps
        if rng.random() < 0.25:  # completed late: the sweep escalated it meanwhile
            steps.append(Step("escalate", clock.on(workdays.add_workdays(deadline, 1), 0, 1), "system", level=1))
            late = rng.randint(1, 3)
            if late >= policy.escalate_after_days:
                steps.append(Step("escalate", clock.on(workdays.add_workdays(deadline, late), 0, 1), "system", level=2))
            done = clock.workday(0)
        else:
            done = clock.workday(rng.randint(0, workdays.workdays_between(clock.t, deadline)))
        steps.append(Step("complete", done, "handler", {"measures": "整改已完成：" + rng.choice(MEASURES)}, True))
    if stop in ("feedback", "fixed_now", "explained"):
        return steps
    _close(case, steps, clock, rng, policy)
    return steps


def _close(case: Case, steps: list[Step], clock: _Clock, rng: random.Random, policy) -> None:
    """The rater rates the handling through the SMS link, or the period runs out (no contact: public notice)."""
    feedback_due = workdays.add_workdays(clock.t, policy.feedback_days)
    if case.contact_phone_enc and rng.random() < 0.85:
        grade = rng.choices([3, 2, 1], [65, 25, 10])[0]
        at = clock.minutes(60, 60 * 24 * 2)  # within the feedback period (several working days)
        steps.append(Step("rate_handling", at, "rater", {"feedback_grade": grade, "comment": rng.choice(COMMENTS)}))
        if grade == FeedbackGrade.DISSATISFIED:  # 重办: back to the handler, supervised by the agency
            at = clock.minutes(30, 600)
            said = "评价人认为问题未彻底解决"
            steps.append(
                Step(
                    "callback",
                    at,
                    "handler",
                    {"at": at.isoformat(), "channel": "phone", "reached": "1", "rater_said": said},
                )
            )
            steps.append(Step("verify", clock.minutes(30, 300), "handler", {"facts": rng.choice(FACTS)}))
            steps.append(Step("fix_now", clock.workday(1), "handler", {"measures": rng.choice(MEASURES)}, True))
            again = rng.choices([3, 2, 1], [50, 35, 15])[0]
            steps.append(Step("rate_handling", clock.minutes(60, 60 * 24), "rater", {"feedback_grade": again}))
        return
    day_after = feedback_due + timedelta(days=1)
    steps.append(Step("close_no_response", clock.on(day_after, 0, 1), "system"))


# --- who acts ------------------------------------------------------------------------------------------


class _People:
    """The demo's logins who act on cases; a case handler is created for each unit that has none."""

    def __init__(self, unit_ids: set[int], rng: random.Random) -> None:
        User = get_user_model()
        rows = (
            Membership.objects.select_related("user", "unit__region")
            .filter(user__is_active=True)
            .order_by("user__username")
        )
        self.heads: dict[int, Any] = {}
        self.handlers: dict[int, Any] = {}
        self.agency_by_region: dict[int, Any] = {}
        self.agency_by_code: dict[str, Any] = {}
        for m in rows:
            if m.role == Role.DEPARTMENT_ADMIN:
                self.heads.setdefault(m.unit_id, m.user)
            elif m.role == Role.CASE_HANDLER:
                self.handlers.setdefault(m.unit_id, m.user)
            elif m.role == Role.AGENCY_ADMIN and m.unit.kind == Organisation.Kind.AGENCY:
                self.agency_by_region.setdefault(m.unit.region_id, m.user)
                self.agency_by_code.setdefault(m.unit.region.code, m.user)
        missing = sorted(unit_ids - set(self.handlers))
        if missing:
            from haochaping.demo.generator import person_name
            from haochaping.demo.load import DEMO_PASSWORD

            password = make_password(DEMO_PASSWORD)
            users = [User(username=f"handler_{pk}", password=password, first_name=person_name(rng)) for pk in missing]
            User.objects.bulk_create(users, ignore_conflicts=True)
            created = {u.username: u for u in User.objects.filter(username__in=[u.username for u in users])}
            Membership.objects.bulk_create(
                [Membership(user=created[f"handler_{pk}"], unit_id=pk, role=Role.CASE_HANDLER) for pk in missing],
                ignore_conflicts=True,
            )
            group = sync_role_groups()[Role.CASE_HANDLER]
            Through = User.groups.through
            Through.objects.bulk_create(
                [Through(user_id=u.pk, group_id=group.pk) for u in created.values()], ignore_conflicts=True
            )
            for pk in missing:
                self.handlers[pk] = created[f"handler_{pk}"]
        self.root = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()

    def assigner(self, case: Case) -> Any:
        head = self.heads.get(case.unit_id)
        if head is not None:
            return head
        for code in reversed([c for c in case.region.path.split("/") if c]):
            if code in self.agency_by_code:
                return self.agency_by_code[code]
        return self.root

    def actor(self, who: str, case: Case) -> Actor:
        if who == "rater":
            return Actor.rater()
        if who == "system":
            return Actor.system()
        user = {
            "assigner": lambda: self.assigner(case),
            "handler": lambda: case.handler or self.handlers[case.unit_id],
            "agency": lambda: self.agency_by_region.get(case.region_id) or self.root,
        }[who]()
        role = {"assigner": "unit_admin", "handler": "handler", "agency": "agency"}[who]
        return Actor(user, user.get_full_name() or user.get_username(), frozenset({role}))


def _data(step: Step, people: _People, case: Case) -> dict:
    if step.action == "assign":
        return {"handler": people.handlers[case.unit_id].pk}
    if step.action == "escalate":
        note = "超过时限，已提醒单位负责人" if step.level == 1 else "超期，已上报管理机构"
        return {"level": step.level, "note": note}
    return step.data


# --- applying the plans -----------------------------------------------------------------------------------


def _live(case: Case, steps: list[Step], people: _People, now: datetime) -> None:
    """Through case_act, one transaction per action, exactly as the pages would."""
    for step in steps:
        if step.at >= now:
            return
        files = [SimpleUploadedFile("现场整改照片.png", PNG, content_type="image/png")] if step.evidence else []
        if step.action == "escalate":
            Case.objects.filter(pk=case.pk, escalation_level__lt=step.level).update(escalation_level=step.level)
        actor = people.actor(step.actor, case)
        try:
            case = case_act(
                case_id=case.pk,
                action=step.action,
                actor=actor,
                data=_data(step, people, case),
                files=files,
                now=step.at,
            )
        except DomainError as exc:  # a plan the rules refuse (a bug here): the case stays where it is, go on
            logger.warning("demo case %s: %s refused: %s", case.pk, step.action, exc.message)
            return


@contextmanager
def _no_sms():
    """The replayed past sends no SMS: the services' on_commit hook is switched off meanwhile."""

    class Quiet:
        atomic = staticmethod(transaction.atomic)

        @staticmethod
        def on_commit(func, using=None, robust=False) -> None:
            return None

    real = services.transaction
    services.transaction = Quiet  # type: ignore[assignment]
    try:
        yield
    finally:
        services.transaction = real


UPDATED = [
    f.name
    for f in Case._meta.concrete_fields
    if not f.primary_key
    and f.name
    not in ("kind", "rating", "service_case", "service_item", "hall", "window", "staff", "channel", "grade", "summary",
            "real_name", "contact_name_enc", "contact_phone_enc", "contact_phone_hash", "opened_at", "updated_at")
]  # fmt: skip


def _bulk(cases: list[Case], plans: dict[int, list[Step]], people: _People, now: datetime) -> None:
    """Replay with the services' own action functions in memory; write the cases and events in bulk."""
    events: list[CaseEvent] = []
    evidence: list[tuple[Case, CaseEvent, Any]] = []
    for case in cases:
        for step in plans[case.pk]:
            if step.at >= now:
                break
            spec = ACTIONS[step.action]
            actor = people.actor(step.actor, case)
            before = case.state
            data = _data(step, people, case)
            try:
                services._check(case, spec, actor, [PNG] if step.evidence else [])
                if step.action == "assign":  # eligible_handlers() per case is the slow part: the plan chose one
                    case.handler = people.handlers[case.unit_id]
                    event_data, note = {"handler": case.handler.get_username()}, ""
                else:
                    event_data, note = services._APPLY[step.action](case, spec, actor, data, step.at)
            except DomainError as exc:  # as in _live: the case stays where the last accepted action left it
                logger.warning("demo case %s: %s refused: %s", case.pk, step.action, exc.message)
                break
            if spec.target is not None and case.state == before and step.action != "rate_handling":
                case.state = spec.target
            if step.action == "escalate":
                case.escalation_level = max(case.escalation_level, step.level)
            refresh_due(case)
            event = CaseEvent(
                case=case, action=step.action, from_state=before, to_state=case.state, actor=actor.user,
                actor_label=actor.label[:60], at=step.at, note=note,
                data={k: v for k, v in event_data.items() if v not in (None, "")},
            )  # fmt: skip
            events.append(event)
            if step.evidence:
                evidence.append((case, event, actor.user))
    _update_rows(cases)
    CaseEvent.objects.bulk_create(events, batch_size=1000)
    if evidence:
        name = "case-evidence/demo/现场整改照片.png"
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(PNG))
        digest = hashlib.sha256(PNG).hexdigest()
        CaseAttachment.objects.bulk_create(
            [
                CaseAttachment(
                    case=case,
                    event_id=event.pk,
                    file=name,
                    name="现场整改照片.png",
                    content_type="image/png",
                    size=len(PNG),
                    sha256=digest,
                    uploaded_by=user,
                    uploaded_at=event.at,
                )  # fmt: skip
                for case, event, user in evidence
            ],
            batch_size=1000,
        )


def _update_rows(cases: list[Case]) -> None:
    """One executemany UPDATE (bulk_update's CASE WHEN per field takes minutes for thousands of rows)."""
    fields = [Case._meta.get_field(name) for name in UPDATED]
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    sql = f"UPDATE {connection.ops.quote_name(Case._meta.db_table)} SET {sets} WHERE id = %s"
    rows = [[f.get_db_prep_save(getattr(c, f.attname), connection) for f in fields] + [c.pk] for c in cases]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            cursor.executemany(sql, rows[start : start + 1000])


# --- choosing what each case shows ---------------------------------------------------------------------------


def _target(age: int, rng: random.Random) -> str:
    """The state a recent case is left in, by its age in working days (most old ones are done)."""
    if age <= 0:
        options = {"new": 6, "assigned": 3, "verified": 1}
    elif age <= 2:
        options = {"new": 1, "assigned": 1, "verified": 3, "rectifying": 2, "feedback": 3, "closed": 1}
    elif age <= 6:
        options = {"assigned": 0.3, "verified": 0.5, "rectifying": 2, "appealing": 0.4, "feedback": 3, "closed": 3}
    else:
        options = {"assigned": 0.3, "rectifying": 1, "feedback": 1.2, "closed": 7}
    return rng.choices(list(options), list(options.values()))[0]


# What the `handler` login's unit shows, newest case first: the handler's queue in several states, one in the
# ledger due the next working day, one overdue; unassigned ones for `dept_admin` (with the demo's keyed entries).
HANDLER_UNIT_TARGETS = [
    ("rectifying", "rectifying_near"),
    ("assigned", "assigned_overdue"),
    ("feedback", "recent"),
    ("new", ""),
    ("verified", ""),
    ("assigned", ""),
]
HANDLER_UNIT_MAX_AGE = 15  # working days: an older case left open would be absurdly overdue


def seed_demo(*, now: datetime | None = None, seed: int = 42) -> dict[str, Any]:
    """Open and play forward the demo's cases; returns counts and the links to show."""
    started = time.perf_counter()
    now = now or timezone.now()
    today = timezone.localdate(now)
    rng = random.Random(f"haochaping-demo-cases-{seed}")
    opened = opening.open_missing()
    # Demo ratings stand for ratings received through intake: their cases were opened as they arrived.
    first = CaseEvent.objects.filter(action="open", note="差评补立案")
    first.update(at=Subquery(Case.objects.filter(pk=OuterRef("case_id")).values("opened_at")[:1]), note="差评自动立案")
    fresh = list(
        Case.objects.filter(state=State.NEW, kind=Kind.BAD_REVIEW, handler__isnull=True)
        .annotate(n_events=Count("events"))
        .filter(n_events=1)
        .select_related("region", "unit")
        .order_by("-opened_at", "-pk")
    )
    people = _People({c.unit_id for c in fresh}, rng)
    handler_user = get_user_model().objects.filter(username="handler").select_related("membership").first()
    handler_unit = handler_user.membership.unit_id if handler_user and hasattr(handler_user, "membership") else None
    if handler_user is not None and handler_unit is not None:
        people.handlers[handler_unit] = handler_user
    xihu = next((r for r, u in people.agency_by_region.items() if u.username == "county_xihu"), None)
    for case in fresh:
        case._demo_agency = case.region_id in people.agency_by_region  # type: ignore[attr-defined]

    # The showcase: the newest cases, the handler's unit's recent ones, and one appeal for 西湖区.
    chosen: dict[int, tuple[str, str]] = {}
    unit_cases = [
        c
        for c in fresh
        # Cases opened in the last hours (the demo's keyed entries) stay new: no time has passed to act on them.
        if c.unit_id == handler_unit
        and now - timedelta(days=HANDLER_UNIT_DAYS) <= c.opened_at < now - timedelta(hours=6)
    ]
    for case, target in zip(unit_cases, HANDLER_UNIT_TARGETS, strict=False):
        young = workdays.workdays_between(case.opened_at, now) <= HANDLER_UNIT_MAX_AGE
        chosen[case.pk] = target if young else ("closed", "")
    appeal_case = next(
        (c for c in fresh if c.region_id == xihu and c.pk not in chosen and c.opened_at < now - timedelta(days=1)),
        None,
    )
    if appeal_case is not None:
        chosen[appeal_case.pk] = ("appealing", "")
    # At least one case awaits the rater's feedback, for the link the demo prints.
    newest = next((c for c in fresh if c.pk not in chosen and c.opened_at < now - timedelta(hours=12)), None)
    if newest is not None:
        chosen[newest.pk] = ("feedback", "recent")
    recent = [c for c in fresh if c.opened_at >= now - timedelta(days=SHOWCASE_DAYS)][:SHOWCASE]
    for case in recent:
        if case.pk not in chosen:
            age = workdays.workdays_between(case.opened_at, now)
            target = _target(age, rng)
            if target == "appealing" and not case._demo_agency:  # type: ignore[attr-defined]
                target = "feedback"
            chosen[case.pk] = (target, "")

    plans = {}
    for case in fresh:
        stop, special = chosen.get(case.pk, ("closed", ""))
        plans[case.pk] = _plan(case, rng, now, stop=stop, special=special)

    with transaction.atomic():
        bulk = [c for c in fresh if c.pk not in chosen]
        mark = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with _no_sms():
            _bulk(bulk, plans, people, now)
        # The past's notifications were read long ago.
        Notification.objects.filter(pk__gt=mark, read_at__isnull=True).update(read_at=now - timedelta(days=1))
    # The SMS of the showcase cases go out as on a live system (console backend: kept off the demo's output).
    with redirect_stdout(io.StringIO()):
        for case in reversed([c for c in fresh if c.pk in chosen]):
            _live(case, plans[case.pk], people, now)
    report = sweep(now)

    feedback_link = ""
    pick = (
        Case.objects.filter(state=State.FEEDBACK, unit_id=handler_unit).order_by("-pk").first()
        or Case.objects.filter(state=State.FEEDBACK, notified_via="sms").order_by("-pk").first()
        or Case.objects.filter(state=State.FEEDBACK).order_by("-pk").first()
    )
    if pick is not None:
        token = secrets.token_urlsafe(24)
        Case.objects.filter(pk=pick.pk).update(feedback_token_hash=services.token_hash(token))
        feedback_link = services.feedback_url(token)
    states = Counter(Case.objects.values_list("state", flat=True))
    outcomes = Counter(Case.objects.filter(state=State.CLOSED).values_list("outcome", flat=True))
    return {
        "opened": opened,
        "cases": sum(states.values()),
        "states": {State(s).label: n for s, n in states.items()},
        "outcomes": {Outcome(o).label: n for o, n in outcomes.items() if o},
        "showcase": len(chosen),
        "overdue": sum(1 for c in Case.objects.filter(state__in=SUPERVISED) if services.is_overdue(c, today)),
        "escalated": Case.objects.filter(escalation_level__gt=0).exclude(state=State.CLOSED).count(),
        "appeals_pending": Appeal.objects.filter(decision="").count(),
        "sweep": report.counts(),
        "feedback_link": feedback_link,
        "seconds": time.perf_counter() - started,
    }
