"""Case API: business systems file 投诉 (complaints) and read the 差评/投诉 工单 of their scope.

Contact data (name, phone) goes in encrypted and never comes out: a caller sees the case's progress, not who
complained.
"""

from __future__ import annotations

import re

from django.http import HttpRequest
from ninja import Query, Router, Status

from haochaping.accounts.scope import Scope, get_in_scope
from haochaping.cases import opening, workdays
from haochaping.cases.models import KIND_OF_PREFIX, Case
from haochaping.cases.schemas import (
    FEEDBACK_GRADE_NAME_OF,
    CaseRecord,
    CaseRecordPage,
    CaseRecordQuery,
    ComplaintBody,
    ComplaintCreated,
)
from haochaping.cases.services import is_overdue
from haochaping.directory.models import Window
from haochaping.lib.errors import NotFound, ValidationFailed
from haochaping.ratings.codes import GRADE_NAME_OF
from haochaping.ratings.schemas import API_ERRORS

router = Router(tags=["cases"])

ERRORS = API_ERRORS
NUMBER = re.compile(r"^(CP|TS|JY)(\d{8})-(\d{1,12})$")


def _window_id(scope: Scope, hall: str, code: str) -> int:
    window_id = scope.filter(Window.objects.filter(hall__code=hall, code=code)).values_list("id", flat=True).first()
    if window_id is None:
        raise NotFound(f"窗口不存在：{hall}/{code}", field="window")
    return window_id


@router.post(
    "/complaints",
    response={201: ComplaintCreated, **ERRORS},
    summary="提交投诉（立案为投诉工单，分派给责任单位）",
)
def create_complaint(request: HttpRequest, payload: ComplaintBody):
    """Routed like a 差评: the 办件's unit first, else the window's, the staff member's, the 事项's, the named unit."""
    scope: Scope = request.scope
    scope.require_write()
    window = payload.window
    complaint = opening.ComplaintIn(
        content=payload.content,
        contact_phone=payload.contact_phone,
        contact_name=payload.contact_name,
        channel=payload.channel,
        case_no=(payload.case_no or "").strip(),
        unit_uscc=(payload.unit_uscc or "").strip(),
        window_id=_window_id(scope, window.hall, window.code) if window else None,
        staff_code=(payload.staff_code or "").strip(),
        item_code=(payload.item_code or "").strip(),
    )
    key = getattr(request, "api_key", None)
    try:
        case = opening.complaint_open(complaint, scope=scope, actor_label=f"接口：{key.name}"[:60] if key else "接口")
    except ValidationFailed as exc:
        if exc.field != "unit_id":
            raise
        # The service speaks of unit_id (the web form's field); this API names the unit by its USCC.
        raise ValidationFailed(exc.message, field="unit_uscc") from None
    return Status(
        201,
        {
            "case_number": case.number,
            "state": case.state,
            "unit": {"uscc": case.unit.uscc, "name": case.unit.name},
            "callback_due": case.callback_due,
        },
    )


def _record(case: Case, today) -> dict:
    rating = case.rating
    return {
        "number": case.number,
        "kind": case.kind,
        "state": case.state,
        "outcome": case.outcome or None,
        "is_fixed": case.is_fixed,
        "unit": {"uscc": case.unit.uscc, "name": case.unit.name},
        "case_no": case.service_case.case_no if case.service_case_id else None,
        "rating_id": str(rating.public_id) if rating else None,
        "grade": GRADE_NAME_OF.get(case.grade) if case.grade else None,
        "channel": case.channel,
        "opened_at": case.opened_at,
        "due_on": case.due_on,
        "overdue": is_overdue(case, today),
        "deadline": case.deadline,
        "rectified_at": case.rectified_at,
        "notified_at": case.notified_at,
        "feedback_grade": FEEDBACK_GRADE_NAME_OF.get(case.feedback_grade) if case.feedback_grade else None,
        "closed_at": case.closed_at,
        "close_reason": case.close_reason or None,
        "reopen_count": case.reopen_count,
        "adoption": rating.adoption if rating else None,
    }


def _cases():
    return Case.objects.select_related("unit", "rating", "service_case")


@router.get("/tickets", response={200: CaseRecordPage, **ERRORS}, summary="查询差评/投诉工单（数据范围内）")
def list_cases(request: HttpRequest, q: Query[CaseRecordQuery]):
    qs = request.scope.filter(_cases())
    if q.state:
        qs = qs.filter(state=q.state)
    if q.kind:
        qs = qs.filter(kind=q.kind)
    if q.unit_uscc:
        qs = qs.filter(unit__uscc=q.unit_uscc)
    if q.opened_after:
        qs = qs.filter(opened_at__gte=q.opened_after)
    count = qs.count()
    rows = qs.order_by("-opened_at", "-id")[q.offset : q.offset + q.limit]
    today = workdays.today()
    return {"count": count, "limit": q.limit, "offset": q.offset, "items": [_record(c, today) for c in rows]}


@router.get("/tickets/{number}", response={200: CaseRecord, **ERRORS}, summary="查询一个工单（按工单编号）")
def get_case(request: HttpRequest, number: str):
    """The number names the case completely: a known id under another prefix or date is not found either."""
    match = NUMBER.match(number.strip().upper())
    if match is None:
        raise NotFound(f"工单不存在：{number}", field="number")
    prefix, pk = match.group(1), int(match.group(3))
    kind = KIND_OF_PREFIX[prefix]
    try:
        case = get_in_scope(_cases(), request.scope, pk=pk, kind=kind)
    except NotFound:
        raise NotFound(f"工单不存在：{number}", field="number") from None
    if case.number != number.strip().upper():
        raise NotFound(f"工单不存在：{number}", field="number")
    return _record(case, workdays.today())
