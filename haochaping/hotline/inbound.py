"""Inbound from the 12345 hotline: status updates of our work orders, and call-back satisfaction results.

The case here stays the system of record: a status update is a note on the case (action ``hotline_status``) and on
the work order, never a change of the case's state. A call-back of a work order is the rater's rating of the
handling: the case's feedback (rate_handling) when the case awaits it (已反馈待评价), else a note. A call-back with
no work order (the hotline's own satisfaction call about a 办件, 事项 or unit) is a rating on the hotline channel,
stored through intake. Every write is idempotent: status updates on (work order, status, at), call-backs on call_id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from haochaping.accounts.scope import Scope
from haochaping.cases.lookup import case_id_of
from haochaping.cases.models import Case, CaseEvent, FeedbackGrade, State
from haochaping.hotline.models import Callback, StatusUpdate, WorkOrder
from haochaping.lib.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from haochaping.ratings.codes import GRADE_NAME_OF, Channel

HOTLINE_LABEL = "12345热线"

# 满意度 words of the hotline → our five grades (ratings/codes.py Grade).
SATISFACTION_WORDS = {
    "非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1,
    "very_satisfied": 5, "satisfied": 4, "basic": 3, "dissatisfied": 2, "very_dissatisfied": 1,
}  # fmt: skip


def require_region_key(scope: Scope) -> None:
    if scope.kind not in ("region", "all"):
        raise PermissionDenied("12345热线接口须使用区划级接口密钥")


def grade_of(satisfaction: Any, *, field_name: str = "satisfaction") -> int:
    """满意/基本满意/不满意 (and 非常…), or a grade 1–5 (5 best)."""
    text = str(satisfaction if satisfaction is not None else "").strip()
    if text in SATISFACTION_WORDS:
        return SATISFACTION_WORDS[text]
    if text in ("1", "2", "3", "4", "5"):
        return int(text)
    raise ValidationFailed("满意度应为 满意/基本满意/不满意（或 非常满意/非常不满意），或 1–5 的等级", field=field_name)


def feedback_grade_of(grade: int) -> int:
    """Five grades → the rater's rating of the handling (满意 / 基本满意 / 不满意)."""
    if grade >= 4:
        return FeedbackGrade.SATISFIED
    if grade == 3:
        return FeedbackGrade.BASIC
    return FeedbackGrade.DISSATISFIED


def order_in_scope(scope: Scope, work_order_no: str) -> WorkOrder:
    require_region_key(scope)
    found = scope.filter(WorkOrder.objects.filter(work_order_no=work_order_no)).select_related("case").first()
    if found is None or not work_order_no:
        raise NotFound(f"热线工单不存在：{work_order_no}", field="work_order_no")
    return found


# --- status updates ------------------------------------------------------------------------------------------


@dataclass
class StatusResult:
    order: WorkOrder
    update: StatusUpdate
    created: bool


def status_record(
    scope: Scope, work_order_no: str, *, status: str, note: str = "", at: datetime, now: datetime | None = None
) -> StatusResult:
    """Record the hotline's status of a work order; the same (status, at) again is answered as already recorded."""
    status = (status or "").strip()
    if not status:
        raise ValidationFailed("请给出状态", field="status")
    now = now or timezone.now()
    order = order_in_scope(scope, work_order_no)
    found = StatusUpdate.objects.filter(work_order=order, status=status, at=at).first()
    if found:
        return StatusResult(order, found, False)
    try:
        with transaction.atomic():
            update = StatusUpdate.objects.create(work_order=order, status=status, note=note, at=at, received_at=now)
            case = order.case
            CaseEvent.objects.create(
                case=case, action="hotline_status", from_state=case.state, to_state=case.state, actor=None,
                actor_label=HOTLINE_LABEL, at=now, note=note or status,
                data={"work_order_no": order.work_order_no, "status": status, "at": at.isoformat()},
            )  # fmt: skip
            if order.remote_status_at is None or at >= order.remote_status_at:
                WorkOrder.objects.filter(pk=order.pk).update(remote_status=status, remote_status_at=at)
                order.remote_status, order.remote_status_at = status, at
    except IntegrityError:  # the same update at the same moment from a second request
        return StatusResult(order, StatusUpdate.objects.get(work_order=order, status=status, at=at), False)
    return StatusResult(order, update, True)


# --- call-backs ------------------------------------------------------------------------------------------------


@dataclass
class CallbackIn:
    call_id: str
    called_at: datetime
    satisfaction: Any
    comment: str = ""
    work_order_no: str = ""
    case_no: str = ""  # our 工单编号 (CP…/TS…) when the hotline has no work order number
    service_case_no: str = ""  # 办件编号
    item_code: str = ""
    unit_uscc: str = ""
    phone: str = ""


@dataclass
class CallbackResult:
    call_id: str
    status: str  # stored | duplicate | rejected
    outcome: str = ""
    rating_id: str = ""
    case_no: str = ""
    work_order_no: str = ""
    message: str = ""
    errors: list[dict] = field(default_factory=list)


def _case_for(scope: Scope, c: CallbackIn) -> tuple[WorkOrder | None, Case | None]:
    if c.work_order_no:
        order = order_in_scope(scope, c.work_order_no)
        return order, order.case
    if c.case_no:
        case_id = case_id_of(c.case_no)
        case = scope.filter(Case.objects.filter(pk=case_id)).first() if case_id and case_id < 2**31 else None
        if case is None or case.number != c.case_no.strip().upper():
            raise NotFound(f"工单不存在：{c.case_no}", field="case_no")
        return WorkOrder.objects.filter(case=case).first(), case
    return None, None


def _answer(cb: Callback, status: str) -> CallbackResult:
    return CallbackResult(
        call_id=cb.call_id, status=status, outcome=cb.outcome, rating_id=cb.rating_public_id,
        case_no=cb.case.number if cb.case_id else "",
        work_order_no=cb.work_order.work_order_no if cb.work_order_id else "",
    )  # fmt: skip


def callback_record(scope: Scope, c: CallbackIn, *, client: str, now: datetime | None = None) -> CallbackResult:
    """Record one call-back result (raises a DomainError for a bad one; a re-send answers ``duplicate``)."""
    require_region_key(scope)
    now = now or timezone.now()
    call_id = (c.call_id or "").strip()
    if not call_id:
        raise ValidationFailed("请给出回访编号", field="call_id")
    existing = Callback.objects.select_related("case", "work_order").filter(call_id=call_id).first()
    if existing:
        if not scope.filter(Callback.objects.filter(pk=existing.pk)).exists():
            raise ValidationFailed("回访编号已被其他地区使用", field="call_id")
        return _answer(existing, "duplicate")
    grade = grade_of(c.satisfaction)
    comment = (c.comment or "").strip()[:2000]
    order, case = _case_for(scope, c)
    if case is not None:
        return _case_callback(scope, c, call_id, grade, comment, order, case, now)
    if not (c.service_case_no or c.item_code or c.unit_uscc):
        raise ValidationFailed(
            "请给出热线工单编号、工单编号，或被评价的办件编号、事项编码、单位信用代码", field="work_order_no"
        )
    return _rating_callback(scope, c, call_id, grade, comment, client, now)


def _case_callback(scope, c: CallbackIn, call_id, grade, comment, order, case: Case, now) -> CallbackResult:
    from haochaping.cases.services import Actor, case_act

    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
        cb = Callback(
            call_id=call_id, region_id=case.region_id, work_order=order, case=case, called_at=c.called_at, grade=grade,
            comment=comment, received_at=now,
        )  # fmt: skip
        if case.state == State.FEEDBACK:
            cb.outcome = Callback.Outcome.FEEDBACK
            cb.save()
            actor = Actor(None, f"评价人（{HOTLINE_LABEL}回访）", frozenset({"rater"}))
            case_act(
                case_id=case.pk, action="rate_handling", actor=actor, now=now,
                data={"feedback_grade": feedback_grade_of(grade), "comment": comment},
            )  # fmt: skip
        else:
            cb.outcome = Callback.Outcome.NOTE
            cb.save()
            label = GRADE_LABEL.get(grade, str(grade))
            CaseEvent.objects.create(
                case=case, action="hotline_callback", from_state=case.state, to_state=case.state, actor=None,
                actor_label=HOTLINE_LABEL, at=now, note=f"12345回访：{label}" + (f"。{comment}" if comment else ""),
                data={"call_id": call_id, "grade": grade, "called_at": c.called_at.isoformat(),
                      "work_order_no": order.work_order_no if order else ""},
            )  # fmt: skip
    cb.case, cb.work_order = case, order
    return _answer(cb, "stored")


GRADE_LABEL = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def _rating_callback(scope, c: CallbackIn, call_id, grade, comment, client, now) -> CallbackResult:
    from haochaping.ratings.intake import submit_ratings

    item: dict[str, Any] = {
        "grade": GRADE_NAME_OF[grade],
        "channel": Channel.PHONE.value,
        "comment": comment,
        "rated_at": c.called_at,
        "idempotency_key": f"12345:{call_id}"[:100],
    }
    if c.service_case_no:
        item["case_no"] = c.service_case_no
    if c.item_code:
        item["item_code"] = c.item_code
    if c.unit_uscc:
        item["unit_uscc"] = c.unit_uscc
    if c.phone:
        item["rater_phone"] = c.phone
        item["anonymous"] = False
    result = submit_ratings([item], scope=scope, client=client, now=now)[0]
    if not result.ok:
        raise result.as_error()
    from haochaping.ratings.models import Rating

    region_id = Rating.objects.filter(public_id=result.rating_id).values_list("region_id", flat=True).first()
    cb, created = Callback.objects.get_or_create(
        call_id=call_id,
        defaults={
            "region_id": region_id, "service_case_no": c.service_case_no or "", "rating_public_id": result.rating_id,
            "called_at": c.called_at, "grade": grade, "comment": comment, "outcome": Callback.Outcome.RATING,
            "received_at": now,
        },
    )  # fmt: skip
    return _answer(cb, "stored" if created and result.created else "duplicate")


def callbacks_record(scope: Scope, items: list[CallbackIn], *, client: str) -> list[CallbackResult]:
    """A batch: one answer per item, in order; a bad item is rejected with its reason, the others go on."""
    require_region_key(scope)
    results = []
    for item in items:
        try:
            results.append(callback_record(scope, item, client=client))
        except DomainError as exc:
            results.append(
                CallbackResult(call_id=item.call_id, status="rejected", message=exc.message, errors=exc.errors)
            )
    return results
