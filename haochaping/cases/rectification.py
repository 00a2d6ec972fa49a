"""整改事项 (rectification items): a concentrated problem (insight) or any other finding handed to a unit with an owner
and a deadline (限期依法依规整改解决), then progress, completion with the measures taken, or cancellation.

Every write is one transaction with the row locked; bad input raises ValidationFailed naming the field, a step
that no longer fits the state raises Conflict. Who may take which step is the views' business
(cases/views_rectification.py): the services check the data, not the user's role.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from haochaping.accounts.models import Membership
from haochaping.cases import workdays
from haochaping.cases.models import Rectification
from haochaping.directory.models import Organisation
from haochaping.lib.errors import Conflict, NotFound, ValidationFailed

logger = logging.getLogger(__name__)

DEFAULT_WORKDAYS = 15  # default deadline: 15 working days from the day it is handed over


def default_deadline(today: date | None = None) -> date:
    return workdays.add_workdays(today or workdays.today(), DEFAULT_WORKDAYS)


def _text(value: str | None, field: str, *, required: bool = False, limit: int | None = None) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"请填写{_FIELD_NAMES.get(field, field)}", field=field)
    if limit and len(value) > limit:
        raise ValidationFailed(f"{_FIELD_NAMES.get(field, field)}不能超过 {limit} 个字", field=field)
    return value


_FIELD_NAMES = {
    "title": "整改事项",
    "description": "问题描述",
    "unit": "责任单位",
    "owner": "责任人",
    "deadline": "整改期限",
    "progress": "整改进展",
    "measures": "整改措施",
    "reason": "撤销理由",
}


def rectification_open(
    problem,
    *,
    title: str,
    description: str = "",
    unit: Organisation | None,
    owner=None,
    deadline: date | None = None,
    actor,
    source: str = "",
) -> Rectification:
    """Hand a rectification to ``unit`` (and ``owner``, a member of it) due on ``deadline`` (after today; default
    15 working days). From a problem (insight.Problem): the problem becomes 已交办整改 and points at it."""
    from haochaping.insight.models import Problem

    title = _text(title, "title", required=True, limit=120)
    description = _text(description, "description")
    if unit is None:
        raise ValidationFailed("请选择责任单位", field="unit")
    today = workdays.today()
    deadline = deadline or default_deadline(today)
    if deadline <= today:
        raise ValidationFailed("整改期限应晚于今天", field="deadline")
    if owner is not None and not Membership.objects.filter(user=owner, unit=unit).exists():
        raise ValidationFailed("责任人应为责任单位的工作人员", field="owner")
    with transaction.atomic():
        if problem is not None:
            problem = Problem.objects.select_for_update().get(pk=problem.pk)
            if problem.rectification_id:
                raise Conflict("该问题已交办整改", field="problem")
            if problem.status == Problem.Status.DISMISSED:
                raise Conflict("该问题已排除，不能交办整改", field="problem")
            source = source or f"集中问题 #{problem.pk}"
        item = Rectification.objects.create(
            title=title,
            description=description,
            source=source[:40],
            region=unit.region,
            unit=unit,
            owner=owner,
            deadline=deadline,
            created_by=actor,
        )
        if problem is not None:
            problem.status = Problem.Status.RECTIFYING
            problem.rectification = item
            if not problem.decided_at:
                problem.decided_by, problem.decided_at = actor, timezone.now()
            problem.save(update_fields=["status", "rectification", "decided_by", "decided_at", "updated_at"])
    return item


def _locked_open(pk: int) -> Rectification:
    item = Rectification.objects.select_for_update().filter(pk=pk).first()
    if item is None:
        raise NotFound("整改事项不存在")
    if item.state != Rectification.State.OPEN:
        raise Conflict(f"整改事项已{item.get_state_display()}，不能再操作", field="state")
    return item


def _stamp(actor, text: str, now: datetime) -> str:
    who = getattr(actor, "get_username", lambda: "")() or "系统"
    return f"[{timezone.localtime(now):%Y-%m-%d %H:%M} {who}] {text}"


def rectification_progress(pk: int, *, progress: str, actor, now: datetime | None = None) -> Rectification:
    """Record progress (appended to the item's progress log)."""
    progress = _text(progress, "progress", required=True, limit=2000)
    now = now or timezone.now()
    with transaction.atomic():
        item = _locked_open(pk)
        entry = _stamp(actor, progress, now)
        item.progress = f"{item.progress}\n{entry}".strip()
        item.save(update_fields=["progress", "updated_at"])
    return item


def rectification_complete(pk: int, *, measures: str, actor, now: datetime | None = None) -> Rectification:
    """Completed: the measures taken are required."""
    measures = _text(measures, "measures", required=True, limit=4000)
    now = now or timezone.now()
    with transaction.atomic():
        item = _locked_open(pk)
        item.measures = measures
        item.state = Rectification.State.DONE
        item.completed_at = now
        item.progress = f"{item.progress}\n{_stamp(actor, '整改完成', now)}".strip()
        item.save(update_fields=["measures", "state", "completed_at", "progress", "updated_at"])
    return item


def rectification_cancel(pk: int, *, reason: str, actor, now: datetime | None = None) -> Rectification:
    """Cancelled (撤销) with a reason; a problem it came from goes back to 已确认 so it can be handed over again."""
    from haochaping.insight.models import Problem

    reason = _text(reason, "reason", required=True, limit=500)
    now = now or timezone.now()
    with transaction.atomic():
        item = _locked_open(pk)
        item.state = Rectification.State.CANCELLED
        item.progress = f"{item.progress}\n{_stamp(actor, '撤销：' + reason, now)}".strip()
        item.save(update_fields=["state", "progress", "updated_at"])
        Problem.objects.filter(rectification=item).update(
            status=Problem.Status.CONFIRMED, rectification=None, updated_at=now
        )
    return item


def is_overdue(item: Rectification, today: date | None = None) -> bool:
    return item.state == Rectification.State.OPEN and item.deadline < (today or workdays.today())


def mark_overdue(now: datetime | None = None) -> int:
    """The sweep's part: open items past their deadline get ``overdue_notified_at`` once (claimed by a conditional
    UPDATE, so overlapping sweeps mark each item once); returns how many were marked now."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due = Rectification.objects.filter(
        state=Rectification.State.OPEN, deadline__lt=today, overdue_notified_at__isnull=True
    )
    marked = 0
    for item in due.select_related("unit").order_by("pk"):
        claimed = Rectification.objects.filter(pk=item.pk, overdue_notified_at__isnull=True).update(
            overdue_notified_at=now
        )
        if claimed:
            marked += 1
            logger.info(
                "整改事项 #%s「%s」已超过整改期限（%s，%s），请督促整改",
                item.pk,
                item.title,
                item.deadline,
                item.unit.name,
            )
    return marked
