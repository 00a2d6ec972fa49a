"""Read queries of the case pages: the queue of a user, a case's timeline, deadline flags, unread reminders.

Writes never happen here (they go through ``services.case_act``); everything is filtered through the data scope.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import models
from django.db.models import Count, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope
from haochaping.cases import services, workdays
from haochaping.cases.machine import ACTIONS, Action
from haochaping.cases.models import (
    KIND_OF_PREFIX,
    CallbackAttempt,
    Case,
    CaseAttachment,
    CaseEvent,
    Notification,
    State,
)
from haochaping.cases.policy import policy_for_path
from haochaping.directory.models import Organisation
from haochaping.ratings.codes import Channel as RatingChannel
from haochaping.ratings.codes import grade_label
from haochaping.ratings.models import Tag

# States whose ``due_on`` is a duty of the unit; in FEEDBACK the date is the rater's, so it is never "overdue".
UNIT_DUE_STATES = (State.NEW, State.ASSIGNED, State.VERIFIED, State.RECTIFYING, State.APPEALING)
# Actions services refuse while the clock is paused (services._check); the page hides them meanwhile.
BLOCKED_WHILE_PAUSED = frozenset({"verify", "open_ledger", "fix_now", "explain", "appeal", "extend", "complete"})


def cases_for(user, scope: Scope) -> QuerySet:
    """Every case this user may open: the scope, narrowed for case handlers to the cases assigned to them.

    Window staff get none: the case pages show who rated them badly and how to reach the rater.
    """
    qs = scope.filter(Case.objects.all())
    if scope.kind == "staff":
        return qs.none()
    if scope.role == Role.CASE_HANDLER:
        qs = qs.filter(handler=user)
    return qs


ALL_STATES = "all"


@dataclass
class QueueFilters:
    state: str = ""
    kind: str = ""
    overdue: bool = False
    due_soon: bool = False
    unit: int | None = None
    mine: bool = False
    q: str = ""


def _due_soon_q(qs: QuerySet, today: date) -> Q:
    """Open cases whose date falls within their region's due-soon period (policies differ per region)."""
    limits: dict[date, list[str]] = defaultdict(list)
    paths = qs.filter(state__in=UNIT_DUE_STATES).values_list("region__path", flat=True).distinct()
    for path in paths:
        limits[workdays.add_workdays(today, policy_for_path(path).due_soon_days)].append(path)
    q = Q(pk__in=[])
    for limit, group in limits.items():
        q |= Q(region__path__in=group, due_on__lte=limit)
    return q & Q(due_on__gte=today, state__in=UNIT_DUE_STATES, paused_at__isnull=True)


def overdue_q(today: date) -> Q:
    """The query form of ``services.is_overdue``."""
    return Q(due_on__lt=today, state__in=UNIT_DUE_STATES, paused_at__isnull=True)


def _filtered(qs: QuerySet, user, f: QueueFilters, today: date, *, with_state: bool = True) -> QuerySet:
    if with_state and f.state != ALL_STATES:
        # No state chosen: the work in hand (every state but 已办结); "all" includes the closed ones.
        qs = qs.filter(state=f.state) if f.state else qs.exclude(state=State.CLOSED)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.unit:
        qs = qs.filter(unit_id=f.unit)
    if f.mine:
        qs = qs.filter(handler=user)
    if f.q:
        qs = qs.filter(_number_q(f.q))
    if f.overdue:
        qs = qs.filter(overdue_q(today))
    if f.due_soon:
        qs = qs.filter(_due_soon_q(qs, today))
    return qs


def _number_q(text: str) -> Q:
    """工单编号 CP20261127-000123 (or just its id part) → the case id; anything else matches nothing."""
    text = text.strip().upper()
    tail = text.rsplit("-", 1)[-1]
    if not tail.isdigit():
        return Q(pk__in=[])
    q = Q(pk=int(tail))
    if text[:2] in KIND_OF_PREFIX:
        q &= Q(kind=KIND_OF_PREFIX[text[:2]])
    return q


def queue_for(user, scope: Scope, filters: QueueFilters, today: date | None = None) -> QuerySet:
    """The queue: overdue first, then by the current time limit (none last), newest first among equals."""
    today = today or workdays.today()
    qs = _filtered(cases_for(user, scope), user, filters, today)
    return (
        qs.select_related("unit", "handler", "region", "rating")
        .annotate(
            overdue_rank=models.Case(When(overdue_q(today), then=Value(0)), default=Value(1)),
            due_sort=Coalesce("due_on", Value(date.max)),
        )
        .order_by("overdue_rank", "due_sort", "-opened_at", "-id")
    )


def state_counts(user, scope: Scope, filters: QueueFilters, today: date | None = None) -> list[dict[str, Any]]:
    """Cases per state under the other filters (the badges at the top of the queue)."""
    today = today or workdays.today()
    qs = _filtered(cases_for(user, scope), user, filters, today, with_state=False)
    counts = dict(qs.order_by().values_list("state").annotate(n=Count("id")))
    return [{"state": s.value, "label": s.label, "count": counts.get(s.value, 0)} for s in State]


def unit_choices(user, scope: Scope) -> list[tuple[int, str]]:
    units = cases_for(user, scope).order_by().values_list("unit_id", "unit__name").distinct()
    return sorted(units, key=lambda u: u[1])


def is_due_soon(case: Case, today: date | None = None) -> bool:
    today = today or workdays.today()
    if not case.due_on or case.state not in UNIT_DUE_STATES or case.paused_at or services.is_overdue(case, today):
        return False
    return case.due_on <= workdays.add_workdays(today, policy_for_path(case.region.path).due_soon_days)


def flag_rows(cases, today: date | None = None) -> list[Case]:
    """Mark each case of a page with ``overdue`` / ``due_soon`` for the template."""
    today = today or workdays.today()
    rows = list(cases)
    for case in rows:
        case.overdue = services.is_overdue(case, today)
        case.due_soon = is_due_soon(case, today)
    return rows


# --- the case page --------------------------------------------------------------------------------------


@dataclass
class Deadline:
    label: str
    day: date | None
    overdue: bool = False
    done: bool = False
    note: str = ""


def _label(name: str) -> str:
    return str(Case._meta.get_field(name).verbose_name)


def deadlines(case: Case, today: date | None = None) -> list[Deadline]:
    """The case's time limits, each flagged overdue when its step is not done and the date has passed."""
    today = today or workdays.today()
    running = case.is_open and not case.paused_at

    def late(day: date | None, done: bool) -> bool:
        return bool(day and running and not done and today > day)

    called = case.called_back_at is not None
    decided = case.outcome_at is not None
    fixed = case.rectified_at is not None
    rows = [
        Deadline(
            _label("callback_due"),
            case.callback_due,
            late(case.callback_due, called),
            called,
        ),
        Deadline(
            _label("resolve_due"),
            case.resolve_due,
            late(case.resolve_due, decided),
            decided,
        ),
    ]
    if case.rectify_deadline:
        current = case.deadline
        rows.append(
            Deadline(
                _label("rectify_deadline"),
                case.rectify_deadline,
                late(case.rectify_deadline, fixed) and not case.extended_deadline,
                fixed,
            )
        )
        if case.extended_deadline:
            rows.append(
                Deadline(
                    _label("extended_deadline"),
                    case.extended_deadline,
                    late(current, fixed),
                    fixed,
                    case.extension_reason,
                )
            )
    if case.feedback_due:
        rows.append(Deadline(_label("feedback_due"), case.feedback_due))
    return rows


# Event data keys → labels, and value labels for the coded ones.
DATA_LABELS = {
    "unit": _("责任单位"),
    "handler": _("处理人"),
    "from_unit": _("原责任单位"),
    "to_unit": _("转办单位"),
    "at": _("回访时间"),
    "channel": _("回访方式"),
    "reached": _("是否联系上"),
    "deadline": _("整改期限"),
    "from": _("原期限"),
    "to": _("延期至"),
    "on_time": _("按期完成"),
    "outcome": _("处理方式"),
    "ground": _("申诉类型"),
    "decision": _("复核结果"),
    "feedback_grade": _("对处理结果的评价"),
    "reopened": _("重新办理"),
    "paused_workdays": _("暂停计时（工作日）"),
    "level": _("督办层级"),
}


def _value_label(key: str, value: Any, action: str = "") -> str:
    from haochaping.cases.models import Appeal, FeedbackGrade, Outcome

    if key == "unit" and isinstance(value, int):  # the opening event records the unit's id
        return Organisation.objects.filter(pk=value).values_list("name", flat=True).first() or str(value)
    if key == "channel" and action == "open":  # where the 差评/投诉 came from, not a call-back channel
        with suppress(ValueError):
            return str(RatingChannel(value).label)
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    choices = {
        "channel": CallbackAttempt.Channel,
        "outcome": Outcome,
        "ground": Appeal.Ground,
        "decision": Appeal.Decision,
        "feedback_grade": FeedbackGrade,
    }.get(key)
    if choices is not None:
        with suppress(ValueError):
            return str(choices(value).label)
    if key == "at" and isinstance(value, str) and "T" in value:
        return value[:16].replace("T", " ")
    return str(value)


@dataclass
class TimelineEntry:
    event: CaseEvent
    label: str
    data: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[CaseAttachment] = field(default_factory=list)


def action_label(code: str) -> str:
    if code == "open":
        return str(_("立案"))
    if code == "view_contact":
        return str(_("查看完整联系电话"))
    spec: Action | None = ACTIONS.get(code)
    return str(spec.label) if spec else code


def case_timeline(case: Case) -> list[TimelineEntry]:
    """The case's history, oldest first, with readable labels and each event's evidence files."""
    events = case.events.select_related("actor").prefetch_related("attachments").order_by("at", "id")
    entries = []
    for event in events:
        if event.action == "rate_handling" and event.actor_id:
            label = str(_("记录评价人电话反馈"))
        else:
            label = action_label(event.action)
        data = [(str(DATA_LABELS.get(k, k)), _value_label(k, v, event.action)) for k, v in (event.data or {}).items()]
        entries.append(TimelineEntry(event, label, data, list(event.attachments.all())))
    return entries


def rating_tags(case: Case) -> list[str]:
    """The labels of the rating's tags (codes of its tag-set version), in the order the rater chose them."""
    rating = case.rating
    if rating is None or not rating.tags:
        return []
    labels = dict(Tag.objects.filter(tag_set_id=rating.tag_set_id, code__in=rating.tags).values_list("code", "label"))
    return [labels.get(code, code) for code in rating.tags]


def rating_grade(case: Case) -> str:
    grade = case.rating.grade if case.rating_id else case.grade
    return grade_label(grade) if grade else ""


def page_actions(case: Case, user) -> list[Action]:
    """The actions shown as forms on the case page: what services allow, less what cannot apply right now."""
    actions = []
    for spec in services.available_actions(case, user):
        if spec.code == "pause" and (case.paused_at or not services.policy_of(case).pause_for_rater):
            continue
        if spec.code == "resume" and not case.paused_at:
            continue
        if case.paused_at and spec.code in BLOCKED_WHILE_PAUSED:
            continue
        actions.append(spec)
    return actions


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
