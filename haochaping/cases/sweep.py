"""The supervision sweep (督办): reminders before a deadline, escalation after it, closing expired feedback periods.

Run every 15 minutes by the worker (cases/tasks.py) or from cron (`haochaping sweep_cases`). Every figure comes
from the region's policy (cases/policy.py) and counts working days (cases/workdays.py).

Idempotent and safe to overlap: each case is handled in its own transaction with its row locked, and every
notification is claimed first — escalation by a conditional UPDATE of ``escalation_level`` (only the sweep
whose UPDATE changed the row notifies), a due-soon reminder by its marker (the "remind" event, or for a case
not yet assigned the reminder notification, naming the due date), so a second sweep finds it done. One case
failing is logged and counted; the sweep goes on with the next.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from haochaping.cases import access, workdays
from haochaping.cases.models import Case, CaseEvent, CasePolicy, Notification, State
from haochaping.cases.policy import Policy
from haochaping.cases.services import Actor, case_act, policy_of
from haochaping.lib.errors import Conflict

logger = logging.getLogger(__name__)

BATCH = 500
# States in which the unit (or the agency, for an appeal) owes the next step by ``due_on``.
SUPERVISED = (State.NEW, State.ASSIGNED, State.VERIFIED, State.RECTIFYING, State.APPEALING)
# States the machine lets the sweep record a "remind" event on (machine.py); a NEW case's reminder goes to the
# unit's heads, who assign it.
REMINDABLE = (State.NEW, State.ASSIGNED, State.VERIFIED, State.RECTIFYING)


@dataclass
class SweepReport:
    reminded: int = 0  # due-soon reminders (one per case per due date)
    overdue: int = 0  # escalated to level 1: the unit's heads told
    escalated: int = 0  # escalated to level 2: the management agency told (appeals included)
    closed_no_response: int = 0  # feedback period over without a rating
    notifications: int = 0
    rectifications_overdue: int = 0  # 整改事项 past their deadline, marked (and logged) once
    failed: list[tuple[int, str]] = field(default_factory=list)  # (case id, error)

    def counts(self) -> dict[str, int]:
        data = asdict(self)
        data["failed"] = len(self.failed)
        return data


def sweep(now: datetime | None = None) -> SweepReport:
    """One pass over every case with something due; returns what it did."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    report = SweepReport()
    expired = Case.objects.filter(state=State.FEEDBACK, due_on__lt=today, feedback_due__lt=today)
    for case_id in _ids(expired):
        _guarded(report, case_id, _close_expired, now)
    # The widest due-soon window of any policy: cases further off need nothing yet.
    horizon = workdays.add_workdays(today, _max_due_soon_days())
    supervised = Case.objects.filter(
        state__in=SUPERVISED, due_on__isnull=False, due_on__lte=horizon, paused_at__isnull=True
    )
    for case_id in _ids(supervised):
        _guarded(report, case_id, _supervise, now, today)
    _guarded(report, 0, _rectifications, now)
    if report.failed:
        logger.warning("case sweep: %d case(s) failed", len(report.failed))
    return report


def _ids(qs) -> list[int]:
    """Candidate ids in batches by primary key (the filters use the (state, due_on) index)."""
    ids: list[int] = []
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        ids += chunk
        if len(chunk) < BATCH:
            return ids
        last = chunk[-1]


def _max_due_soon_days() -> int:
    return max([Policy().due_soon_days, *CasePolicy.objects.values_list("due_soon_days", flat=True)])


def _guarded(report: SweepReport, case_id: int, step, *args) -> None:
    try:
        step(report, case_id, *args)
    except Exception as exc:  # one case must not stop the sweep: log it, count it, go on
        logger.exception("case sweep failed for case %s", case_id)
        report.failed.append((case_id, str(exc)))


def _close_expired(report: SweepReport, case_id: int, now: datetime) -> None:
    try:
        case_act(case_id=case_id, action="close_no_response", actor=Actor.system(), now=now)
    except Conflict:
        return  # rated (or closed by another sweep) meanwhile
    report.closed_no_response += 1


def _rectifications(report: SweepReport, _id: int, now: datetime) -> None:
    from haochaping.cases.rectification import mark_overdue

    report.rectifications_overdue += mark_overdue(now)


def _supervise(report: SweepReport, case_id: int, now: datetime, today: date) -> None:
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))  # the handler is a nullable join: lock the case only
            .select_related("region", "unit", "handler")
            .filter(pk=case_id, state__in=SUPERVISED, paused_at__isnull=True, due_on__isnull=False)
            .first()
        )
        if case is None:  # moved on since it was selected
            return
        policy = policy_of(case)
        due_on = case.due_on
        if today <= due_on:
            if case.state != State.APPEALING and workdays.workdays_between(today, due_on) <= policy.due_soon_days:
                _remind(report, case, due_on, now)
            return
        late = workdays.workdays_between(due_on, today)
        if case.state != State.APPEALING and _raise_level(case, 1):
            text = f"工单 {case.number} 已超过时限（{due_on:%Y-%m-%d}，{case.get_state_display()}），请督促办理"
            report.notifications += _notify(access.unit_heads(case.unit), case, Notification.Kind.OVERDUE, text, now)
            _event(case, "escalate", now, level=1, note=f"超过时限 {due_on:%Y-%m-%d}，已提醒单位负责人")
            report.overdue += 1
        if (late >= policy.escalate_after_days or case.state == State.APPEALING) and _raise_level(case, 2):
            if case.state == State.APPEALING:
                text = f"工单 {case.number} 的申诉已超过复核时限（{due_on:%Y-%m-%d}），请尽快复核"
            else:
                text = (
                    f"工单 {case.number} 超期{late}个工作日未办理（{case.unit.name}，{case.get_state_display()}），"
                    "已上报管理机构督办"
                )
            admins = access.agency_admins(case.region_id)
            report.notifications += _notify(admins, case, Notification.Kind.ESCALATED, text, now)
            _event(case, "escalate", now, level=2, note=f"超期{late}个工作日，已上报管理机构")
            report.escalated += 1


def _raise_level(case: Case, level: int) -> bool:
    """Claim the escalation: only the one sweep whose UPDATE changed the row goes on to notify."""
    if case.escalation_level >= level:
        return False
    claimed = Case.objects.filter(pk=case.pk, escalation_level__lt=level).update(escalation_level=level) == 1
    if claimed:
        case.escalation_level = level
    return claimed


def _marker(due_on: date) -> str:
    return f"当前时限 {due_on:%Y-%m-%d}"


def _remind(report: SweepReport, case: Case, due_on: date, now: datetime) -> None:
    """Once per due date: the marker names the date, so a new deadline (next step, extension) is reminded again."""
    marker = _marker(due_on)
    done = (
        CaseEvent.objects.filter(case=case, action="remind", note__contains=marker).exists()
        or Notification.objects.filter(case=case, kind=Notification.Kind.DUE_SOON, text__contains=marker).exists()
    )
    if done:
        return
    recipients = [case.handler] if case.handler_id and case.handler.is_active else list(access.unit_heads(case.unit))
    if not recipients and case.state not in REMINDABLE:
        return  # nobody to tell and no event to record: nothing happens, nothing to mark
    text = f"工单 {case.number} 即将到期（{marker}，{case.get_state_display()}），请及时办理"
    report.notifications += _notify(recipients, case, Notification.Kind.DUE_SOON, text, now)
    if case.state in REMINDABLE:
        _event(case, "remind", now, note=f"临期提醒：{marker}")
    report.reminded += 1


def _event(case: Case, action: str, now: datetime, *, level: int | None = None, note: str = "") -> None:
    # Through the one write path, so the event carries the state and the actor like every other.
    data = {"note": note}
    if level is not None:
        data["level"] = level
    case_act(case_id=case.pk, action=action, actor=Actor.system(), data=data, now=now)


def _notify(users, case: Case, kind: str, text: str, now: datetime) -> int:
    rows = [Notification(recipient=u, case=case, kind=kind, text=text[:300], created_at=now) for u in users]
    Notification.objects.bulk_create(rows)
    return len(rows)
